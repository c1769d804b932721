"""The profile never shows a P(alive) that the churn probability rules out."""

from __future__ import annotations

import math

import pytest

from serving.profile import build_profile, consistent_alive


@pytest.mark.parametrize(
    ("alive", "churn", "shown"),
    [
        (0.30, 0.20, 0.80),  # P(dead) 0.7 > P(no purchase) 0.2: raised to the bound
        (0.95, 0.90, 0.95),  # alive but slow: no contradiction, unchanged
        (0.50, 0.60, 0.50),  # P(dead) 0.5 <= 0.6: unchanged
        (None, 0.40, None),  # no purchase history: no P(alive)
        (0.40, None, 0.40),  # no churn model loaded
    ],
)
def test_alive_is_bounded_by_churn(
    alive: float | None, churn: float | None, shown: float | None
) -> None:
    got = consistent_alive(alive, churn)
    assert got == (None if shown is None else pytest.approx(shown))


def test_profile_applies_the_bound() -> None:
    row = {"customer_id": 7, "churn_probability": 0.1, "prob_alive": 0.2, "clv_model": "learned"}
    profile = build_profile(row)
    assert profile["prob_alive"] == pytest.approx(0.9)
    assert profile["churn"]["probability"] == pytest.approx(0.1)
    nan_row = {**row, "prob_alive": math.nan}
    assert build_profile(nan_row)["prob_alive"] is None
