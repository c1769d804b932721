"""Per-pattern TreeSHAP equals XGBoost's own contributions bit for bit, and the column-wise
reason sentences equal the per-row ``describe`` ones."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from tests.training.churn.conftest import frame_snapshot
from training.churn import ChurnModel
from training.churn.encoding import design_matrix, dmatrix
from training.churn.model import PATTERN_SHAP_ROWS
from training.churn.reasons import ReasonTable, _template_fields, _values, describe, explain
from training.churn.shap import PatternShap


def _awkward_rows(n: int, seed: int) -> pd.DataFrame:
    """Scoring rows with missing values, an unseen and a missing category, and ties."""
    frame = frame_snapshot(n, seed=seed, labelled=False).frame
    rng = np.random.default_rng(seed)
    region = frame["attr_region"].to_numpy(dtype=object)
    region[rng.uniform(size=n) < 0.1] = None
    region[rng.uniform(size=n) < 0.05] = "atlantis"
    return frame.assign(
        attr_region=region,
        recency_days=np.where(rng.uniform(size=n) < 0.05, np.nan, frame["recency_days"]),
        spend_last_90d=np.where(rng.uniform(size=n) < 0.1, 0.0, frame["spend_last_90d"]),
    )


def _xgboost_contributions(model: ChurnModel, frame: pd.DataFrame) -> np.ndarray:
    matrix = design_matrix(model.encoding, frame)
    out = model.booster.predict(dmatrix(model.encoding, matrix), pred_contribs=True)
    return np.asarray(out[:, : matrix.shape[1]])


def test_the_model_has_categorical_and_missing_value_splits(fitted: ChurnModel) -> None:
    trees = json.loads(fitted.booster.save_raw("json"))["learner"]["gradient_booster"]
    split_types = [t for tree in trees["model"]["trees"] for t in tree["split_type"]]
    assert 1 in split_types  # the attr_region splits the equality below covers


def test_pattern_shap_equals_xgboost_bit_for_bit(fitted: ChurnModel) -> None:
    frame = fitted.with_derived(_awkward_rows(4000, seed=5))
    shap = PatternShap(fitted.booster, lambda rows: dmatrix(fitted.encoding, rows))
    assert shap.supported
    ours = shap.contributions(design_matrix(fitted.encoding, frame))
    assert ours.dtype == np.float32
    assert np.array_equal(ours, _xgboost_contributions(fitted, frame))


def test_feature_contributions_use_patterns_and_agree(
    fitted: ChurnModel, caplog: pytest.LogCaptureFixture
) -> None:
    frame = fitted.with_derived(_awkward_rows(PATTERN_SHAP_ROWS + 500, seed=6))
    with caplog.at_level(logging.WARNING, logger="training.churn.model"):
        ours = fitted.feature_contributions(frame)
    assert not caplog.records  # the per-call check against XGBoost passed
    assert np.array_equal(ours, _xgboost_contributions(fitted, frame))
    few = frame.head(10)
    assert np.array_equal(fitted.feature_contributions(few), _xgboost_contributions(fitted, few))


def _per_row_explain(
    contribs: np.ndarray, features: pd.DataFrame, names: list[str], table: ReasonTable, top: int
) -> list[list[str]]:
    """The sentences row by row through ``describe`` (how explain worked before)."""
    contribs = contribs[:, : len(names)]
    order = np.argsort(-contribs, axis=1, kind="stable")[:, : top * 3]
    used = [c for c in features.columns if c in set(names) | _template_fields(table)]
    out = []
    for i, row in enumerate(features.reset_index(drop=True)[used].to_dict("records")):
        values = _values(row, table)
        texts: list[str] = []
        for j in order[i]:
            if contribs[i, j] <= 0 or len(texts) == top:
                break
            text = describe(names[j], row, table, values)
            if text is not None and text not in texts:
                texts.append(text)
        out.append(texts)
    return out


def test_column_wise_sentences_equal_the_per_row_ones(fitted: ChurnModel) -> None:
    frame = fitted.with_derived(_awkward_rows(3000, seed=7))
    names = list(fitted.encoding.feature_names)
    contribs = _xgboost_contributions(fitted, frame)
    # ties with the medians take the "is <value>" sentence
    median = fitted.reason_table.medians.get("return_rate")
    if median is not None and np.isfinite(median):
        frame.loc[frame.index[:50], "return_rate"] = median
    for top in (1, 3):
        ours = explain(contribs, frame, names, fitted.reason_table, top)
        assert ours == _per_row_explain(contribs, frame, names, fitted.reason_table, top)
    assert sum(len(t) for t in ours) > 3000  # most rows have reasons to compare
