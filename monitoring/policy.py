"""The retraining policy: a pure decision from drift history, performance, age and cooldown.

Rules, in the order they are weighed:

1. Triggers (any one suffices): no champion; the champion is older than
   ``max_champion_age_days``; realised performance dropped by more than
   ``max_performance_drop``; drift (status ``drift``, as the drift report decided it with
   its one setting, ``DriftConfig.drift_share``) on each of the last ``consecutive_windows``
   judged windows. Windows with status ``insufficient_data`` carry
   no evidence: they are left out, neither counting nor breaking a streak.
2. A trigger inside the cooldown (``cooldown_days`` since the last retrain) waits, except
   when there is no champion at all.
3. A trigger with fewer than ``min_rows`` rows to train on waits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

INSUFFICIENT, DRIFT = "insufficient_data", "drift"


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds of the retraining policy; ``ValueError`` on nonsensical values."""

    consecutive_windows: int = 2
    max_performance_drop: float = 0.05
    max_champion_age_days: float = 90
    cooldown_days: float = 7
    min_rows: int = 5000

    def __post_init__(self) -> None:
        if self.max_performance_drop < 0:
            raise ValueError("max_performance_drop must be >= 0")
        if self.consecutive_windows < 1:
            raise ValueError("consecutive_windows must be at least 1")
        if self.max_champion_age_days <= 0 or self.cooldown_days < 0 or self.min_rows < 0:
            raise ValueError("max_champion_age_days must be > 0, cooldown_days and min_rows >= 0")


@dataclass(frozen=True)
class WindowSummary:
    """What the policy needs from one monitoring window (see ``reports.DriftSummary``)."""

    at: datetime
    status: str
    drift_share: float | None = None
    prediction_drift: float | None = None  # the largest prediction drift score
    n_rows: int = 0


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to retrain now, why (in words ops can read) and which rules fired."""

    retrain: bool
    reason: str
    triggers: tuple[str, ...] = ()


def _window_drift(w: WindowSummary) -> str | None:
    """What the drift report found in a window it called drifted, or None."""
    if w.status != DRIFT:
        return None
    parts = []
    if w.drift_share is not None:
        parts.append(f"input drift share {w.drift_share:.2f}")
    if w.prediction_drift is not None:
        parts.append(f"prediction drift {w.prediction_drift:.2f}")
    return " and ".join(parts) or "drift"


def drift_trigger(history: Sequence[WindowSummary], config: PolicyConfig) -> str | None:
    """The drift trigger's sentence when the last judged windows all drifted, else None."""
    judged = sorted((w for w in history if w.status != INSUFFICIENT), key=lambda w: w.at)
    last = judged[-config.consecutive_windows :]
    if len(last) < config.consecutive_windows:
        return None
    reasons = [_window_drift(w) for w in last]
    if not all(reasons):
        return None
    return f"drift on the last {len(last)} judged window(s) (latest: {reasons[-1]})"


def _triggers(
    history: Sequence[WindowSummary],
    champion_age_days: float | None,
    performance_drop: float | None,
    config: PolicyConfig,
) -> list[str]:
    found = []
    if champion_age_days is None:
        found.append("no champion is registered")
    elif champion_age_days > config.max_champion_age_days:
        found.append(
            f"the champion is {champion_age_days:.0f} days old "
            f"(max {config.max_champion_age_days:g})"
        )
    if (
        performance_drop is not None
        and not math.isnan(performance_drop)
        and performance_drop > config.max_performance_drop
    ):
        found.append(
            f"realised performance dropped by {performance_drop:.3f} "
            f"(max {config.max_performance_drop})"
        )
    drift = drift_trigger(history, config)
    if drift:
        found.append(drift)
    return found


def _quiet_reason(history: Sequence[WindowSummary], performance_drop: float | None) -> str:
    judged = [w for w in history if w.status != INSUFFICIENT]
    parts = [f"{len(judged)} judged window(s), none in a drift streak long enough"]
    if performance_drop is None or math.isnan(performance_drop):
        parts.append("realised performance not known yet")
    else:
        parts.append(f"performance drop {performance_drop:.3f} within tolerance")
    return "no retraining: " + "; ".join(parts) + "; champion age within limit"


def decide(
    history: Sequence[WindowSummary],
    champion_age_days: float | None,
    last_retrain_at: datetime | None,
    now: datetime,
    performance_drop: float | None,
    n_rows: int,
    config: PolicyConfig | None = None,
) -> RetrainDecision:
    """Retrain or not, with the reason. ``champion_age_days=None`` means no champion;
    ``performance_drop`` is how much worse the realised metric is than at training (e.g.
    AUC at training minus realised AUC; None or NaN when labels have not matured);
    ``n_rows`` is how many rows a retraining would train on."""
    config = config or PolicyConfig()
    triggers = tuple(_triggers(history, champion_age_days, performance_drop, config))
    if not triggers:
        return RetrainDecision(False, _quiet_reason(history, performance_drop))
    why = "; ".join(triggers)
    if last_retrain_at is not None and champion_age_days is not None:
        ready = last_retrain_at + timedelta(days=config.cooldown_days)
        if now < ready:
            return RetrainDecision(
                False,
                f"waiting: {why}, but the last retrain was at {last_retrain_at:%Y-%m-%d %H:%M} "
                f"and the {config.cooldown_days:g}-day cooldown lasts until {ready:%Y-%m-%d %H:%M}",
                triggers,
            )
    if n_rows < config.min_rows:
        return RetrainDecision(
            False,
            f"waiting: {why}, but only {n_rows} rows to train on (need {config.min_rows})",
            triggers,
        )
    return RetrainDecision(True, f"retrain: {why}", triggers)
