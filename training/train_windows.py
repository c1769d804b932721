"""``cintel train``'s out-of-time windows, fitted to the history the data has (pure).

With E the end of the evaluation window (``--until``, default the day after the last
transaction) and H the horizon: the evaluation snapshot is at t1 = E − H (labels in
[t1, E), H days) and the training snapshot at t0 = t1 − L (labels in [t0, t1)), L the
longest label window up to H that leaves at least as much history before t0:
L = min(H, (t1 − start) ÷ 2). With L < H the churn model learns an L-day churn and answers
for H days by the rescaling of ``training.churn.horizon``. ``holdout_from``: no label
window of the run may reach into [holdout_from, …).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

MIN_LABEL_DAYS = 14
_F = "%Y-%m-%d"


@dataclass(frozen=True)
class TrainWindows:
    """One ``cintel train`` run's windows; dates are midnights, intervals half-open."""

    data_start: pd.Timestamp
    end: pd.Timestamp  # end of the evaluation labels (exclusive)
    horizon_days: int
    label_days: int  # L, the training label window

    @property
    def eval_as_of(self) -> pd.Timestamp:
        return self.end - pd.Timedelta(days=self.horizon_days)

    @property
    def fit_as_of(self) -> pd.Timestamp:
        return self.eval_as_of - pd.Timedelta(days=self.label_days)

    def lines(self) -> list[str]:
        """The windows in words, as ``cintel train`` prints them."""
        shorter = (
            f" (shorter than the {self.horizon_days}-day horizon: the history is too short "
            f"for more; churn probabilities are rescaled to {self.horizon_days} days)"
            if self.label_days < self.horizon_days
            else ""
        )
        return [
            f"training features    [{self.data_start:{_F}}, {self.fit_as_of:{_F}})",
            f"training labels      [{self.fit_as_of:{_F}}, {self.eval_as_of:{_F}})  "
            f"{self.label_days} days{shorter}",
            f"evaluation features  [{self.data_start:{_F}}, {self.eval_as_of:{_F}})",
            f"evaluation labels    [{self.eval_as_of:{_F}}, {self.end:{_F}})  "
            f"{self.horizon_days} days",
        ]

    def params(self) -> dict[str, str | int]:
        return {
            "train_as_of": f"{self.fit_as_of:{_F}}",
            "eval_as_of": f"{self.eval_as_of:{_F}}",
            "label_days": self.label_days,
            "horizon_days": self.horizon_days,
            "eval_end": f"{self.end:{_F}}",
        }


def check_holdout(label_end: pd.Timestamp, holdout_from: pd.Timestamp | None, what: str) -> None:
    """ValueError when labels ending at ``label_end`` (exclusive) reach the holdout."""
    if holdout_from is None:
        return
    holdout = pd.Timestamp(holdout_from)
    if label_end > holdout:
        raise ValueError(
            f"{what} run to {label_end - pd.Timedelta(days=1):{_F}}, inside the holdout that "
            f"starts on {holdout:{_F}} (--holdout-from); end them on or before it: give an "
            f"earlier date, or a later --holdout-from"
        )


def plan_train(
    data_start: pd.Timestamp,
    end: pd.Timestamp,
    horizon_days: int,
    holdout_from: pd.Timestamp | None = None,
) -> TrainWindows:
    """The windows of a training run ending at ``end``; ValueError saying what to change."""
    start = pd.Timestamp(data_start).normalize()
    end = pd.Timestamp(end)
    if horizon_days < 1:
        raise ValueError(f"--horizon-days must be at least 1, got {horizon_days}")
    eval_as_of = end - pd.Timedelta(days=horizon_days)
    history = (eval_as_of - start).days
    label_days = min(horizon_days, history // 2)
    if label_days < MIN_LABEL_DAYS:
        earliest = start + pd.Timedelta(days=2 * MIN_LABEL_DAYS + horizon_days)
        raise ValueError(
            f"the data starts on {start:{_F}}, but training with --horizon-days "
            f"{horizon_days} up to {end:{_F}} needs at least {2 * MIN_LABEL_DAYS} days of "
            f"history before the evaluation snapshot at {eval_as_of:{_F}} ({MIN_LABEL_DAYS} "
            f"of features, {MIN_LABEL_DAYS} of training labels); use a shorter horizon, "
            f"--until {earliest:{_F}} or later, or more data"
        )
    check_holdout(end, holdout_from, "the evaluation labels (the gate's evidence)")
    return TrainWindows(start, end, horizon_days, label_days)
