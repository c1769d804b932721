"""The pure promotion gate: ties, tolerance edges, floors, ceilings and NaN."""

from __future__ import annotations

import math

import pytest

from training.mlops.gate import GateDecision, decide

NAN = float("nan")


def auc(
    challenger: float,
    champion: float | None,
    tolerance: float = 0.0,
    floors: dict[str, float] | None = None,
    metrics: dict[str, float] | None = None,
) -> GateDecision:
    """decide() on roc_auc (greater is better); metrics default to the challenger score."""
    metrics = {"roc_auc": challenger} if metrics is None else metrics
    return decide("roc_auc", challenger, champion, True, tolerance, floors, metrics)


def test_first_challenger_promotes_when_floors_pass() -> None:
    result = decide("roc_auc", 0.7, None, True, 0.0, {"roc_auc": 0.55}, {"roc_auc": 0.7})
    assert result.promote
    assert result.reason == "challenger roc_auc 0.7; no champion yet; floors passed"


def test_first_challenger_below_floor_is_rejected() -> None:
    result = decide("roc_auc", 0.52, None, True, 0.0, {"roc_auc": 0.55}, {"roc_auc": 0.52})
    assert not result.promote
    assert "roc_auc 0.52 < floor 0.55" in result.reason


def test_better_challenger_promotes_with_readable_reason() -> None:
    result = auc(0.812, 0.805, tolerance=0.005, floors={"roc_auc": 0.55})
    assert result == GateDecision(
        True, "challenger roc_auc 0.812 ≥ champion 0.805 − tolerance 0.005; floors passed"
    )


def test_tie_promotes() -> None:
    assert auc(0.8, 0.8).promote


def test_worse_without_tolerance_is_rejected() -> None:
    result = auc(0.799, 0.8)
    assert not result.promote
    assert "0.799 < champion 0.8" in result.reason


@pytest.mark.parametrize(
    ("challenger", "champion", "tolerance", "promote"),
    [
        (0.800, 0.805, 0.005, True),  # exactly at the edge
        (0.7999, 0.805, 0.005, False),  # just outside
        (0.7, 0.8, 0.1, True),  # 0.8 - 0.1 is 0.7000000000000001 in floats
        (0.6999, 0.8, 0.1, False),
    ],
)
def test_tolerance_edge(
    challenger: float, champion: float, tolerance: float, promote: bool
) -> None:
    assert auc(challenger, champion, tolerance).promote is promote


@pytest.mark.parametrize(
    ("challenger", "promote"), [(10.0, True), (10.2, True), (10.2000001, False), (9.0, True)]
)
def test_lower_is_better_metric(challenger: float, promote: bool) -> None:
    result = decide("rmse", challenger, 10.0, False, 0.2, None, {"rmse": challenger})
    assert result.promote is promote
    assert ("≤ champion 10 + tolerance 0.2" in result.reason) is promote


def test_ceiling_rejects_a_first_model_that_is_too_wrong() -> None:
    result = decide("rmse", 50.0, None, False, 0.0, None, {"rmse": 50.0}, ceilings={"rmse": 40.0})
    assert not result.promote
    assert "rmse 50 > ceiling 40" in result.reason


@pytest.mark.parametrize(
    ("challenger", "champion"), [(NAN, 0.8), (NAN, None), (math.inf, 0.8), (0.9, NAN)]
)
def test_nan_or_infinite_scores_never_promote(challenger: float, champion: float | None) -> None:
    result = auc(challenger, champion, metrics={})
    assert not result.promote
    assert "nan" in result.reason or "inf" in result.reason


def test_better_main_metric_but_failed_secondary_floor_is_rejected() -> None:
    metrics = {"roc_auc": 0.9, "pr_auc": 0.05}
    result = auc(0.9, 0.8, floors={"roc_auc": 0.55, "pr_auc": 0.1}, metrics=metrics)
    assert not result.promote
    assert "≥ champion 0.8" in result.reason
    assert "floors failed: pr_auc 0.05 < floor 0.1" in result.reason


def test_missing_or_nan_floor_metric_fails_the_floor() -> None:
    missing = auc(0.9, None, floors={"pr_auc": 0.1}, metrics={"roc_auc": 0.9})
    assert not missing.promote
    assert "pr_auc missing from challenger metrics" in missing.reason
    nan = auc(0.9, None, floors={"pr_auc": 0.1}, metrics={"roc_auc": 0.9, "pr_auc": NAN})
    assert not nan.promote
    assert "pr_auc is nan" in nan.reason


def test_main_score_argument_wins_over_a_stale_metrics_entry() -> None:
    result = auc(0.5, None, floors={"roc_auc": 0.55}, metrics={"roc_auc": 0.9})
    assert not result.promote


@pytest.mark.parametrize("tolerance", [-0.01, NAN, math.inf])
def test_invalid_tolerance_raises(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        auc(0.8, 0.8, tolerance=tolerance)


def test_decide_does_not_mutate_its_inputs() -> None:
    floors, metrics = {"roc_auc": 0.55}, {"roc_auc": 0.7}
    decide("roc_auc", 0.7, 0.6, True, 0.0, floors, metrics)
    assert floors == {"roc_auc": 0.55}
    assert metrics == {"roc_auc": 0.7}
