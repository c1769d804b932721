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


# a publish's scores against the labels of the snapshot at its as_of (hand-computed below)
SCORES = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "churn_probability": [0.8, 0.3, 0.6, 0.1, 0.5],
        "propensity_any__wine": [0.5, 0.1, 0.2, 0.4, 0.3],
        "learned_clv_horizon": [10.0, 50.0, 30.0, 80.0, 5.0],
        "btyd_clv_horizon": [0.0, 0.0, 0.0, 70.0, 0.0],
        "clv_model": ["learned", "learned", "learned", "btyd", "learned"],
    }
)
LABELS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "btyd_T": [100.0, 200.0, 50.0, 300.0, float("nan")],  # e never bought
        "label_churn": [1.0, 0.0, 0.0, 0.0, float("nan")],
        "label_buy__wine": [1.0, 0.0, 0.0, 1.0, 0.0],
        "future_margin": [0.0, 60.0, 20.0, 90.0, 0.0],
    }
)


def test_matured_figures_equal_a_hand_computation() -> None:
    from monitoring.performance import matured_figures

    got = matured_figures(SCORES, LABELS)
    # churn on a-d: positives {a: .8}, negatives {.3, .6, .1}: a outranks all three
    assert got["churn_n"] == 4 and got["churn_roc_auc"] == pytest.approx(1.0)
    assert got["churn_pr_auc"] == pytest.approx(1.0)
    assert got["churn_brier"] == pytest.approx((0.2**2 + 0.3**2 + 0.6**2 + 0.1**2) / 4)
    # wine: positives a (.5), d (.4); negatives .1 .2 .3: every pair ordered right
    assert got["propensity_roc_auc_any__wine"] == pytest.approx(1.0)
    assert got["propensity_actual_vs_expected_any__wine"] == pytest.approx(0.4 / 0.3)
    # clv on a-d (e has no history); d is served by BTYD (70): errors 10, 10, 10, 20
    assert got["clv_n"] == 4 and got["clv_mae"] == pytest.approx(12.5)


def test_training_figures_and_the_churn_auc_drop() -> None:
    from monitoring.performance import churn_auc_drop, training_figures

    runs = {
        "churn": {"roc_auc": 0.82, "pr_auc": 0.6, "brier": 0.1},
        "propensity": {"roc_auc_any__wine": 0.7, "mean_roc_auc_any": 0.7},
        "clv": {"mae_learned": 9.0, "mae_btyd": 11.0, "decile_mape_learned": 0.2},
    }
    training = training_figures(runs, clv_chosen="learned")
    assert training == {
        "churn_roc_auc": 0.82,
        "churn_pr_auc": 0.6,
        "churn_brier": 0.1,
        "propensity_mean_roc_auc_any": 0.7,
        "propensity_roc_auc_any__wine": 0.7,
        "clv_mae": 9.0,
        "clv_decile_mape": 0.2,
    }
    assert churn_auc_drop({"churn_roc_auc": 0.62}, training) == pytest.approx(0.2)
    assert churn_auc_drop({"churn_roc_auc": math.nan}, training) is None
