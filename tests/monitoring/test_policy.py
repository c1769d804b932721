"""The retraining policy, rule by rule, with the words ops will read."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitoring.policy import PolicyConfig, RetrainDecision, WindowSummary, decide, drift_trigger

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CFG = PolicyConfig()


def w(
    days_ago: float, share: float | None = 0.0, pred: float | None = 0.0, status: str = "ok"
) -> WindowSummary:
    return WindowSummary(NOW - timedelta(days=days_ago), status, share, pred, 5000)


def run(
    history: list[WindowSummary],
    age: float | None = 10,
    last: datetime | None = None,
    drop: float | None = None,
    rows: int = 10_000,
    cfg: PolicyConfig = CFG,
) -> RetrainDecision:
    return decide(history, age, last, NOW, drop, rows, cfg)


def test_quiet_history_keeps_the_champion_and_says_why() -> None:
    d = run([w(2), w(1)])
    assert not d.retrain and d.triggers == ()
    assert d.reason.startswith("no retraining") and "not known yet" in d.reason


def test_drift_share_on_two_consecutive_windows_retrains() -> None:
    d = run([w(2, share=0.4, status="drift"), w(1, share=0.35, status="drift")])
    assert d.retrain and "input drift share 0.35" in d.reason and d.reason.startswith("retrain:")


def test_one_drifted_window_is_not_enough() -> None:
    assert not run([w(2, share=0.0), w(1, share=0.9, status="drift")]).retrain


def test_a_quiet_window_breaks_the_streak_even_if_older_ones_drifted() -> None:
    assert not run(
        [w(3, share=0.9, status="drift"), w(2, share=0.9, status="drift"), w(1, share=0.1)]
    ).retrain


def test_the_policy_follows_the_reports_verdict_not_a_threshold_of_its_own() -> None:
    # one drift setting (DriftConfig.drift_share) decides a window's status; the policy
    # only counts the windows the report called drifted, so the two cannot disagree
    assert not run([w(2, share=0.9), w(1, share=0.9)]).retrain
    assert run([w(2, share=0.05, status="drift"), w(1, share=0.05, status="drift")]).retrain


def test_prediction_drift_alone_triggers() -> None:
    d = run([w(2, pred=0.2, status="drift"), w(1, pred=0.15, status="drift")])
    assert d.retrain and "prediction drift 0.15" in d.reason


def test_mixed_drift_kinds_still_make_a_streak() -> None:
    assert run([w(2, share=0.5, status="drift"), w(1, pred=0.5, status="drift")]).retrain


def test_insufficient_windows_neither_count_nor_break() -> None:
    gap = w(1.5, share=None, pred=None, status="insufficient_data")
    assert run([w(2, share=0.5, status="drift"), gap, w(1, share=0.5, status="drift")]).retrain
    assert not run([gap, w(1, share=0.5, status="drift")]).retrain


def test_history_order_does_not_matter() -> None:
    assert run([w(1, share=0.5, status="drift"), w(2, share=0.5, status="drift"), w(3)]).retrain


def test_configurable_window_count() -> None:
    three = PolicyConfig(consecutive_windows=3)
    assert not run(
        [w(2, share=0.5, status="drift"), w(1, share=0.5, status="drift")], cfg=three
    ).retrain
    assert run(
        [
            w(3, share=0.5, status="drift"),
            w(2, share=0.5, status="drift"),
            w(1, share=0.5, status="drift"),
        ],
        cfg=three,
    ).retrain
    assert run([w(1, share=0.5, status="drift")], cfg=PolicyConfig(consecutive_windows=1)).retrain


def test_empty_history_cannot_trigger_drift() -> None:
    assert drift_trigger([], CFG) is None
    assert not run([]).retrain


def test_performance_drop_beyond_tolerance_retrains() -> None:
    d = run([], drop=0.08)
    assert d.retrain and "dropped by 0.080" in d.reason


@pytest.mark.parametrize("drop", [0.05, 0.0, -0.1, math.nan, None])
def test_performance_within_tolerance_or_unknown_does_not(drop: float | None) -> None:
    assert not run([], drop=drop).retrain


def test_old_champion_retrains() -> None:
    d = run([], age=91)
    assert d.retrain and "91 days old" in d.reason
    assert not run([], age=90).retrain


def test_no_champion_retrains_even_in_cooldown() -> None:
    d = run([], age=None, last=NOW - timedelta(hours=1))
    assert d.retrain and "no champion" in d.reason


def test_cooldown_delays_a_trigger_and_names_the_date() -> None:
    d = run([], age=200, last=NOW - timedelta(days=3))
    assert not d.retrain and d.triggers and d.reason.startswith("waiting:")
    assert "cooldown lasts until 2026-11-24 12:00" in d.reason
    assert run([], age=200, last=NOW - timedelta(days=7)).retrain  # cooldown over


def test_too_little_data_delays_a_trigger() -> None:
    d = run([], age=200, rows=4999)
    assert not d.retrain and "only 4999 rows" in d.reason and "need 5000" in d.reason
    assert run([], age=200, rows=5000).retrain


def test_several_triggers_are_all_named() -> None:
    d = run([w(2, share=0.5, status="drift"), w(1, share=0.5, status="drift")], age=120, drop=0.2)
    assert d.retrain and len(d.triggers) == 3
    assert all(t in d.reason for t in d.triggers)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"consecutive_windows": 0},
        {"max_performance_drop": -1},
        {"max_champion_age_days": 0},
        {"cooldown_days": -1},
        {"min_rows": -5},
    ],
)
def test_nonsense_config_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PolicyConfig(**kwargs)
