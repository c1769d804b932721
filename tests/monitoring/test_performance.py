"""Realised performance against matured outcomes, and deltas to the training figures."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from monitoring.performance import realised_performance

PREDICTIONS = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 4, 4],
        "ts": pd.to_datetime(
            ["2026-01-01", "2026-01-01", "2026-01-01", "2026-01-01", "2026-01-02"]
        ),
        "churn_probability": [0.9, 0.2, 0.6, 0.5, 0.1],
        "clv_12m": [10.0, 100.0, 50.0, 0.0, 20.0],
    }
)
OUTCOMES = pd.DataFrame(
    {
        "customer_id": ["1", "2", "3", "4", "5"],
        "label_churn": [1, 0, 1, 0, 1],
        "future_spend": [0.0, 120.0, 30.0, 30.0, 5.0],
    }
)


def test_hand_computed_figures() -> None:
    result = realised_performance(PREDICTIONS, OUTCOMES)
    # customer 4 counts once, with its latest prediction (0.1, 20); customer 5 was never served
    assert result["n"] == 4 and result["n_unmatched_predictions"] == 0
    assert result["auc"] == pytest.approx(1.0)
    assert result["calibration_error"] == pytest.approx((0.9 + 0.2 + 0.6 + 0.1) / 4 - 0.5)
    assert result["clv_mae"] == pytest.approx((10 + 20 + 20 + 10) / 4)
    assert result["clv_aggregate_error"] == pytest.approx((180 - 180) / 180)


def test_deltas_and_performance_drop_use_training_names() -> None:
    result = realised_performance(PREDICTIONS, OUTCOMES, {"roc_auc": 0.8, "mae": 10.0})
    assert result["deltas"] == {"auc": pytest.approx(0.2), "clv_mae": pytest.approx(5.0)}
    assert result["performance_drop"] == pytest.approx(-0.2)


def test_one_class_gives_nan_auc_not_a_crash() -> None:
    outcomes = OUTCOMES.assign(label_churn=0)
    assert math.isnan(realised_performance(PREDICTIONS, outcomes)["auc"])


def test_inputs_are_not_mutated() -> None:
    before = PREDICTIONS.copy()
    realised_performance(PREDICTIONS, OUTCOMES)
    pd.testing.assert_frame_equal(PREDICTIONS, before)


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="future_spend"):
        realised_performance(PREDICTIONS, OUTCOMES.drop(columns="future_spend"))


def test_no_overlap_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no served customer"):
        realised_performance(PREDICTIONS, OUTCOMES.assign(customer_id=["a", "b", "c", "d", "e"]))
