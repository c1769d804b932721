"""Lorenz, Gini and the top-20 % share on tables whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.economics.concentration import concentration_table, gini, lorenz, top_share


def test_equal_values_have_no_concentration() -> None:
    assert gini(np.full(10, 5.0)) == pytest.approx(0.0)
    assert top_share(np.full(10, 5.0)) == pytest.approx(0.2)


def test_one_customer_with_everything() -> None:
    v = np.r_[np.zeros(9), 100.0]
    # the Lorenz curve is 0 up to 0.9 then jumps: area = 0.1 x 0.5, Gini = 1 - 0.1 = 0.9
    assert gini(v) == pytest.approx(0.9)
    assert top_share(v) == pytest.approx(1.0)
    x, y = lorenz(v)
    assert x[0] == 0 and y[0] == 0 and y[-1] == pytest.approx(1.0) and y[-2] == 0.0


def test_pareto_80_20_by_hand() -> None:
    # 10 customers: 2 hold 80 (40 each), 8 hold 20 (2.5 each)
    v = np.r_[np.full(8, 2.5), 40.0, 40.0]
    assert top_share(v) == pytest.approx(0.8)
    # Lorenz points: 0.025 per step for 8 steps to 0.2, then 0.6, 1.0; trapezoid area:
    area = sum((0.025 * i + 0.025 * (i + 1)) / 2 * 0.1 for i in range(8))
    area += (0.2 + 0.6) / 2 * 0.1 + (0.6 + 1.0) / 2 * 0.1
    assert gini(v) == pytest.approx(1 - 2 * area)
    assert gini(v) == pytest.approx(0.6)  # area 0.08 + 0.04 + 0.08 = 0.2


def test_value_destroyers_push_gini_above_one() -> None:
    v = np.array([-50.0, 10.0, 20.0, 70.0])
    assert gini(v) > 1.0
    assert top_share(v) == pytest.approx(70 / 50)  # the top customer holds more than the total


def test_table_by_group() -> None:
    frame = pd.DataFrame(
        {
            "tier": ["gold", "gold", "bronze", "bronze"],
            "margin": [30.0, 30.0, 0.0, 40.0],
        }
    )
    table = concentration_table(frame, ["margin"], ["tier"]).set_index(["breakdown", "group"])
    assert table.loc[("tier", "gold"), "gini"] == pytest.approx(0.0)
    assert table.loc[("tier", "bronze"), "gini"] == pytest.approx(0.5)
    assert table.loc[("all", "all"), "customers"] == 4
    assert table.loc[("all", "all"), "total"] == 100.0
    assert table.loc[("tier", "bronze"), "top20_share"] == pytest.approx(1.0)
