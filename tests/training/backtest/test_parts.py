"""Backtest parts on hand-written data: purchase days, oracle, metric tables, summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.backtest import metrics as bm
from training.backtest.baselines import purchase_days
from training.backtest.truth import known_rates_no_purchase, oracle_no_purchase
from training.backtest.windows import Windows


def test_purchase_days_count_distinct_days_in_the_window() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 2, 3],
            "ts": pd.to_datetime(
                [
                    "2024-03-01 09:00", "2024-03-01 18:00",  # one day
                    "2024-03-05 10:00",
                    "2024-04-01 00:00",  # the window's end: excluded
                    "2024-02-29 23:59",  # before the window
                    "2024-03-10 10:00",  # a return: not a purchase
                    "2024-03-02 10:00",  # a $0 purchase counts, as btyd_* count it
                ]
            ),
            "amount": [10.0, 5.0, 7.0, 3.0, 4.0, -4.0, 0.0],
        }
    )  # fmt: skip
    got = purchase_days(tx, pd.Series([1, 2, 3, 4]), pd.Timestamp("2024-03-01"), 31)
    assert got.tolist() == [2.0, 0.0, 1.0, 0.0]


def test_oracle_is_one_for_the_dead_and_exp_rate_for_the_living() -> None:
    truth = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "rate_per_year": [3.6525, 3.6525, 0.0],
            "death_date": pd.to_datetime(["2024-02-01", "2024-06-01", None]),
        }
    )
    w = Windows(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"),
                pd.Timestamp("2024-03-01"), 100, 50)  # fmt: skip
    p = oracle_no_purchase(truth, pd.Series([1, 2, 3]), w)
    # dead before the cutoff; alive (dies later), 0.01 purchases a day for 100 days; never buys
    np.testing.assert_allclose(p, [1.0, np.exp(-1.0), 1.0])


def test_known_rates_bound_by_hand() -> None:
    """True rate and dropout known, death not: P(alive) from the silence since the last
    purchase; a customer who never drops out is alive, one who always does is dead."""
    truth = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "rate_per_year": [3.6525, 3.6525, 3.6525, 3.6525],
            "dropout_prob": [0.0, 1.0, 0.5, 0.5],
            "death_date": pd.NaT,
        }
    )
    history = pd.DataFrame({"btyd_T": [80.0, 80.0, 80.0, 80.0], "btyd_recency": [0, 0, 80, 0]})
    w = Windows(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"),
                pd.Timestamp("2024-03-01"), 100, 50)  # fmt: skip
    p = known_rates_no_purchase(truth, pd.Series([1, 2, 3, 4]), history, w)
    silent_80 = np.exp(-0.8)
    alive_4 = 0.5 * silent_80 / (0.5 + 0.5 * silent_80)
    expected = [np.exp(-1.0), 1.0, 1.0 - 0.5 * (1 - np.exp(-1.0)), 1 - alive_4 * (1 - np.exp(-1))]
    np.testing.assert_allclose(p, expected)
    assert np.isnan(known_rates_no_purchase(truth.drop(columns="dropout_prob"),
                                            pd.Series([1]), history.head(1), w)).all()  # fmt: skip


def test_calibration_table_and_error_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 1, 1, 1, 1], dtype=float)
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9])
    table = bm.calibration_table(y, p, bins=2)
    assert table["n"].tolist() == [5, 5]
    np.testing.assert_allclose(table["mean_predicted"], [0.18, 0.82])
    np.testing.assert_allclose(table["observed"], [0.4, 1.0])
    assert bm.calibration_error(y, p, bins=2) == pytest.approx((5 * 0.22 + 5 * 0.18) / 10)


def test_churn_scores_rank_only_for_scores_and_all_for_probabilities() -> None:
    y = np.array([0.0, 0.0, 1.0, 1.0])
    ranks = bm.churn_scores(y, np.array([1.0, 2.0, 3.0, 4.0]), probability=False)
    assert ranks == {"roc_auc": 1.0, "pr_auc": 1.0}
    probs = bm.churn_scores(y, np.array([0.0, 0.5, 0.5, 1.0]), probability=True)
    assert probs["roc_auc"] == pytest.approx(0.875)
    assert probs["brier"] == pytest.approx(0.125) and probs["mean_probability"] == 0.5


def test_by_frequency_groups_seven_and_more() -> None:
    table = bm.by_frequency(
        np.array([0, 0, 1, 7, 12]), np.array([0.0, 2.0, 1.0, 5.0, 9.0]), {"m": np.ones(5)}
    )
    assert table["repeat_purchases"].tolist() == [0, 1, 7]
    assert table["n"].tolist() == [2, 1, 2]
    assert table["actual"].tolist() == [1.0, 1.0, 7.0] and table["m"].tolist() == [1.0] * 3


def test_purchase_and_propensity_scores_by_hand() -> None:
    got = bm.purchase_scores(np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0]))
    assert got == {"total": 3.0, "total_error": 0.5, "mae": pytest.approx(5 / 3)}
    prop = bm.propensity_scores(np.array([0.0, 1.0, np.nan, 1.0]), np.array([0.2, 0.6, 0.5, 0.4]))
    assert prop["actual"] == 2.0 and prop["expected"] == pytest.approx(1.2)
    assert prop["expected_over_actual"] == pytest.approx(0.6) and prop["roc_auc"] == 1.0


def test_summary_gives_mean_and_spread_per_figure() -> None:
    table = pd.DataFrame(
        {
            "task": ["churn"] * 3,
            "metric": ["roc_auc"] * 3,
            "method": ["cintel"] * 3,
            "value": [0.7, 0.8, 0.9],
        }
    )
    row = bm.summarise(table).iloc[0]
    assert row["mean"] == pytest.approx(0.8) and row["std"] == pytest.approx(0.1)
    assert (row["min"], row["max"], row["n_cutoffs"]) == (0.7, 0.9, 3)
