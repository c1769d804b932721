"""The few-row scoring path (serving.rowscore) gives score_all's numbers, column for column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving.batch.materialize import kept_columns, load_champions, score_all
from serving.rowscore import score_columns
from serving.settings import ServiceSettings
from serving.store import FileStore
from training.data.contract import CleanData


def _assert_same(expected: pd.DataFrame, got: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected.columns)
    for col in expected.columns:
        want, have = expected[col].to_numpy(), got[col]
        assert have.dtype == want.dtype, col
        if want.dtype.kind == "f":
            np.testing.assert_array_equal(have, want, err_msg=col)  # NaN == NaN here
        else:
            assert have.tolist() == want.tolist(), col


@pytest.fixture(scope="module")
def loaded(trained_home: tuple[Path, CleanData]) -> tuple[dict, pd.DataFrame]:
    home, _ = trained_home
    scorers, _ = load_champions(ServiceSettings(home=home), optional=True)
    store = FileStore.load(home / "store")
    ids = [str(store.row(i)["customer_id"]) for i in range(0, len(store), 7)]
    features = store.features(ids)
    assert features is not None
    return scorers, features


def test_columns_equal_score_all_for_every_kind_of_customer(loaded: tuple) -> None:
    scorers, features = loaded
    # one-time and repeat buyers, rows above and below the reasons threshold
    assert (features["frequency"] == 1).any() and (features["frequency"] > 2).any()
    expected = score_all(features, dict(scorers), threads=1)
    assert (expected["churn_reasons"] != "").any() and (expected["churn_reasons"] == "").any()
    got = score_columns(features, scorers, kept_columns(list(features.columns)))
    _assert_same(expected, got)


@pytest.mark.parametrize("rows", [1, 3])
def test_one_row_equals_the_same_row_in_a_batch(loaded: tuple, rows: int) -> None:
    scorers, features = loaded
    few = features.iloc[10 : 10 + rows].reset_index(drop=True)
    keep = kept_columns(list(few.columns))
    _assert_same(score_all(few, dict(scorers), threads=1), score_columns(few, scorers, keep))


def test_missing_and_text_values_score_as_the_batch_scores_them(loaded: tuple) -> None:
    scorers, features = loaded
    odd = features.iloc[:4].copy()
    attrs = [c for c in odd.columns if c.startswith("attr_")]
    odd[attrs[0]] = pd.Series([None, "not-a-seen-value", odd[attrs[0]].iloc[2], np.nan],
                              dtype=object)  # fmt: skip
    odd["ipt_mean_days"] = np.nan
    odd.loc[1, "margin_365d"] = -5.0  # a value destroyer
    # a customer without a purchase, as a snapshot leaves them
    empty = ["recency_days", "monetary_mean", "btyd_recency", "btyd_T", "btyd_monetary"]
    odd.loc[3, empty] = np.nan
    odd.loc[3, ["frequency", "btyd_frequency", "gross_spend", "margin_365d"]] = 0.0
    keep = kept_columns(list(odd.columns))
    _assert_same(score_all(odd, dict(scorers), threads=1), score_columns(odd, scorers, keep))


def test_a_missing_model_input_is_an_error_naming_it(loaded: tuple) -> None:
    scorers, features = loaded
    short = features.drop(columns=["recency_days"]).iloc[:1]
    with pytest.raises(ValueError, match="recency_days"):
        score_columns(short, scorers, ["customer_id"])


def test_a_clv_model_with_the_btyd_offset_scores_as_the_batch_scores_it(loaded: tuple) -> None:
    """The CLV model's two boosters share one DMatrix here (the offset set between them)."""
    import copy
    import dataclasses

    scorers, features = loaded
    clv = copy.copy(scorers["clv"])
    clv.config = dataclasses.replace(clv.config, btyd_offset=True)
    assert clv.negative is not None  # both boosters, the case that shares the DMatrix
    offset = {**scorers, "clv": clv}
    few = features.iloc[:5].reset_index(drop=True)
    keep = kept_columns(list(few.columns))
    expected = score_all(few, dict(offset), threads=1)
    assert not np.array_equal(
        expected["learned_clv_horizon"], score_all(few, dict(scorers))["learned_clv_horizon"]
    )  # the offset changes the learned part
    _assert_same(expected, score_columns(few, offset, keep))
