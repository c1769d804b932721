"""Backtest windows: hand-computed splits and one clear error per kind of bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from training.backtest.windows import MIN_LABEL_DAYS, plan, plan_all, rolling_cutoffs

START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")


def test_full_label_window_when_history_allows() -> None:
    w = plan(START, END, pd.Timestamp("2024-07-01"), 90)
    assert w.label_days == 90
    assert w.fit_as_of == pd.Timestamp("2024-04-02")  # 2024-07-01 minus 90 days
    assert w.evaluation_end == pd.Timestamp("2024-09-29")
    assert "90 days" in w.lines()[1] and "shorter" not in w.lines()[1]


def test_short_history_halves_it() -> None:
    # 121 days of history before 2024-05-01: labels are the last 60, features the first 61
    w = plan(START, END, pd.Timestamp("2024-05-01"), 180)
    assert (w.label_days, w.fit_as_of) == (60, pd.Timestamp("2024-03-02"))
    assert "shorter than the 180-day horizon" in w.lines()[1]


def test_horizon_may_end_on_the_last_day() -> None:
    w = plan(START, END, pd.Timestamp("2024-10-03"), 90)  # covers 2024-10-03 .. 2024-12-31
    assert w.evaluation_end == END + pd.Timedelta(days=1)


@pytest.mark.parametrize(
    ("cutoff", "horizon", "needle"),
    [
        ("2023-12-01", 30, "outside the data, which runs from 2024-01-01 to 2024-12-31"),
        ("2025-02-01", 30, "outside the data"),
        ("2024-10-04", 90, "past the end of the data (2024-12-31); the latest cutoff for this "
         "horizon is 2024-10-03"),
        ("2024-01-20", 30, "too little history before --cutoff 2024-01-20: 19 days"),
    ],
)  # fmt: skip
def test_bad_cutoffs_say_what_to_change(cutoff: str, horizon: int, needle: str) -> None:
    with pytest.raises(ValueError) as err:
        plan(START, END, pd.Timestamp(cutoff), horizon)
    assert needle in str(err.value)


def test_earliest_cutoff_is_twice_the_minimum_label_window() -> None:
    w = plan(START, END, START + pd.Timedelta(days=2 * MIN_LABEL_DAYS), 30)
    assert w.label_days == MIN_LABEL_DAYS


def test_rolling_cutoffs_from_the_first_full_window_to_the_last() -> None:
    cuts = rolling_cutoffs(START, END, 90, 30)
    assert cuts[0] == pd.Timestamp("2024-06-29")  # start + 2 × 90 days
    assert cuts[-1] <= pd.Timestamp("2024-10-03") and (cuts[1] - cuts[0]).days == 30
    assert len(plan_all(START, END, 90, [], 30)) == len(cuts)


def test_default_is_the_latest_cutoff_and_duplicates_collapse() -> None:
    assert [w.cutoff for w in plan_all(START, END, 90, [])] == [pd.Timestamp("2024-10-03")]
    two = plan_all(START, END, 30, [pd.Timestamp("2024-09-01"), pd.Timestamp("2024-06-01")] * 2)
    assert [w.cutoff for w in two] == [pd.Timestamp("2024-06-01"), pd.Timestamp("2024-09-01")]
    with pytest.raises(ValueError, match="--every takes at most one --cutoff"):
        plan_all(START, END, 30, [pd.Timestamp("2024-09-01"), pd.Timestamp("2024-06-01")], 7)
