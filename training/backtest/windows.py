"""The backtest's time windows: what is fitted on, what is scored, what it is compared with.

At a cutoff C with horizon H the models are fitted on the snapshot at C − L (features
before C − L, labels in [C − L, C)), so every event the fit sees is before C; every
customer is then scored on the features before C and compared with [C, C + H). L is the
longest label window up to H that leaves at least as much history before it as it is
long: L = min(H, history ÷ 2). The BTYD baselines need no labels and fit on all of
[start, C).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from training.train_windows import check_holdout

MIN_LABEL_DAYS = 14
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Windows:
    """One backtest split; dates are midnights, intervals half-open."""

    data_start: pd.Timestamp  # first day of the data
    data_end: pd.Timestamp  # last day of the data
    cutoff: pd.Timestamp
    horizon_days: int
    label_days: int  # L
    origins: int = 1  # training snapshots stacked, L days apart (those with L days before)

    @property
    def fit_origins(self) -> list[pd.Timestamp]:
        """The training snapshot dates, latest first."""
        step = pd.Timedelta(days=self.label_days)
        dates = [self.fit_as_of - k * step for k in range(max(self.origins, 1))]
        return [d for d in dates if d == self.fit_as_of or d - self.data_start >= step]

    @property
    def fit_as_of(self) -> pd.Timestamp:
        return self.cutoff - pd.Timedelta(days=self.label_days)

    @property
    def evaluation_end(self) -> pd.Timestamp:
        return self.cutoff + pd.Timedelta(days=self.horizon_days)

    def lines(self) -> list[str]:
        """The windows in words, as ``cintel backtest`` prints them."""
        f = "%Y-%m-%d"
        shorter = (
            f" (shorter than the {self.horizon_days}-day horizon: the history before the "
            "cutoff is too short for more)"
            if self.label_days < self.horizon_days
            else ""
        )
        stacked = self.fit_origins[1:]
        extra = [
            f"stacked origins    {', '.join(f'{d:{f}}' for d in stacked)} (labels "
            f"{self.label_days} days after each; the same customers at earlier dates)"
        ]
        return [
            f"training features  [{self.data_start:{f}}, {self.fit_as_of:{f}})",
            f"training labels    [{self.fit_as_of:{f}}, {self.cutoff:{f}})  "
            f"{self.label_days} days{shorter}",
            *(extra if stacked else []),
            f"scoring features   [{self.data_start:{f}}, {self.cutoff:{f}})  (BTYD baselines "
            "fit on the same)",
            f"evaluation         [{self.cutoff:{f}}, {self.evaluation_end:{f}})  "
            f"{self.horizon_days} days",
        ]

    def params(self) -> dict[str, str | int]:
        f = "%Y-%m-%d"
        return {
            "cutoff": f"{self.cutoff:{f}}",
            "fit_as_of": f"{self.fit_as_of:{f}}",
            "label_days": self.label_days,
            "horizon_days": self.horizon_days,
            "evaluation_end": f"{self.evaluation_end:{f}}",
            "n_origins": len(self.fit_origins),
        }


def plan(
    data_start: pd.Timestamp,
    data_end: pd.Timestamp,
    cutoff: pd.Timestamp,
    horizon_days: int,
    holdout_from: pd.Timestamp | None = None,
    origins: int = 1,
) -> Windows:
    """The windows at ``cutoff``; ValueError saying what to change when they do not fit."""
    start, end = pd.Timestamp(data_start).normalize(), pd.Timestamp(data_end).normalize()
    cutoff = pd.Timestamp(cutoff)
    f = "%Y-%m-%d"
    if cutoff != cutoff.normalize():
        raise ValueError(f"--cutoff {cutoff}: give a date (YYYY-MM-DD), not a time")
    if horizon_days < 1:
        raise ValueError(f"--horizon-days must be at least 1, got {horizon_days}")
    if not start < cutoff <= end:
        raise ValueError(
            f"--cutoff {cutoff:{f}} is outside the data, which runs from {start:{f}} to "
            f"{end:{f}}; choose a cutoff after the first day and on or before the last"
        )
    last_needed = cutoff + pd.Timedelta(days=horizon_days) - DAY
    if last_needed > end:
        latest = end + DAY - pd.Timedelta(days=horizon_days)
        raise ValueError(
            f"the {horizon_days}-day horizon after --cutoff {cutoff:{f}} runs to "
            f"{last_needed:{f}}, past the end of the data ({end:{f}}); the latest cutoff for "
            f"this horizon is {latest:{f}}, or shorten --horizon-days"
        )
    history = (cutoff - start).days
    label_days = min(horizon_days, history // 2)
    if label_days < MIN_LABEL_DAYS:
        earliest = start + pd.Timedelta(days=2 * MIN_LABEL_DAYS)
        raise ValueError(
            f"too little history before --cutoff {cutoff:{f}}: {history} days since "
            f"{start:{f}}, and a fit needs at least {2 * MIN_LABEL_DAYS} ({MIN_LABEL_DAYS} of "
            f"features, {MIN_LABEL_DAYS} of labels); choose a cutoff on or after {earliest:{f}}"
        )
    check_holdout(cutoff, holdout_from, f"the training labels before --cutoff {cutoff:{f}}")
    return Windows(start, end, cutoff, horizon_days, label_days, origins)


def rolling_cutoffs(
    data_start: pd.Timestamp,
    data_end: pd.Timestamp,
    horizon_days: int,
    every_days: int,
    first: pd.Timestamp | None = None,
) -> list[pd.Timestamp]:
    """Cutoffs every ``every_days`` from ``first`` (default: the earliest with a full
    H-day training window, else the earliest that fits) to the latest the horizon allows."""
    if every_days < 1:
        raise ValueError(f"--every must be at least 1 day, got {every_days}")
    start, end = pd.Timestamp(data_start).normalize(), pd.Timestamp(data_end).normalize()
    latest = end + DAY - pd.Timedelta(days=horizon_days)
    if first is None:
        full = start + pd.Timedelta(days=2 * horizon_days)
        first = full if full <= latest else start + pd.Timedelta(days=2 * MIN_LABEL_DAYS)
    cutoffs = list(pd.date_range(pd.Timestamp(first), latest, freq=f"{every_days}D"))
    if not cutoffs:
        plan(start, end, pd.Timestamp(first), horizon_days)  # raises the reason
    return cutoffs


def plan_all(
    data_start: pd.Timestamp,
    data_end: pd.Timestamp,
    horizon_days: int,
    cutoffs: list[pd.Timestamp],
    every_days: int | None = None,
    holdout_from: pd.Timestamp | None = None,
    origins: int = 1,
) -> list[Windows]:
    """The splits of ``cintel backtest``: the given cutoffs, or every ``every_days`` (from
    the first given cutoff, if any), or the latest cutoff the horizon allows; sorted."""
    if every_days is not None:
        if len(cutoffs) > 1:
            raise ValueError("--every takes at most one --cutoff (the first cutoff)")
        first = cutoffs[0] if cutoffs else None
        cutoffs = rolling_cutoffs(data_start, data_end, horizon_days, every_days, first)
    elif not cutoffs:
        cutoffs = [pd.Timestamp(data_end).normalize() + DAY - pd.Timedelta(days=horizon_days)]
    unique = sorted(set(pd.Timestamp(c) for c in cutoffs))
    return [plan(data_start, data_end, c, horizon_days, holdout_from, origins) for c in unique]
