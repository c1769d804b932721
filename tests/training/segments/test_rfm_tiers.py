"""RFM scores and value tiers on hand-built customers with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.segments import rfm, tiers
from training.segments.config import TIERS


def _customers(margins: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": range(len(margins)), "margin_365d": margins})


def test_tier_counts_are_exact_and_destroyers_are_kept() -> None:
    margins = [float(m) for m in range(1, 21)] + [0.0, -5.0, np.nan]
    frame = _customers(margins)
    cuts = tiers.fit_cuts(frame, (0.05, 0.15, 0.30))
    assert cuts == [20.0, 17.0, 11.0]
    got = pd.Series(tiers.assign(frame, cuts)).value_counts().to_dict()
    assert got == {"platinum": 1, "gold": 3, "silver": 6, "bronze": 10, "value_destroyer": 3}
    assert tiers.assign(frame, cuts)[20:].tolist() == ["value_destroyer"] * 3


def test_ties_at_a_cut_go_to_the_higher_tier() -> None:
    frame = _customers([10.0, 10.0, 5.0, 4.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    cuts = tiers.fit_cuts(frame, (0.1, 0.2, 0.3))
    assert tiers.assign(frame, cuts).tolist()[:3] == ["platinum", "platinum", "gold"]


def test_tier_summary_lists_all_tiers_and_margin_shares_sum_to_one() -> None:
    frame = _customers([100.0, 50.0, 30.0, 20.0, -10.0])
    table = tiers.tier_summary(
        frame, tiers.assign(frame, tiers.fit_cuts(frame, (0.25, 0.25, 0.25)))
    )
    assert table["tier"].tolist() == list(TIERS)
    assert table["count"].tolist() == [1, 1, 1, 1, 1]
    assert np.isclose(table["margin_share"].sum(), 1.0)
    assert table.set_index("tier").loc["value_destroyer", "margin_365d"] == -10.0


def _rfm_frame() -> pd.DataFrame:
    values = np.arange(1, 11, dtype="float64")
    return pd.DataFrame(
        {
            "recency_days": np.r_[values, np.nan],
            "frequency": np.r_[values, 0.0],
            "monetary_mean": np.r_[values * 10, np.nan],
        }
    )


def test_rfm_quintiles_on_known_values() -> None:
    frame = _rfm_frame()
    edges = rfm.fit_edges(frame, "monetary_mean")
    np.testing.assert_allclose(edges["f"], [2.8, 4.6, 6.4, 8.2])
    scores = rfm.score(frame, edges, "monetary_mean")
    assert scores["rfm_r"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1]
    assert scores["rfm_f"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 1]
    assert scores["rfm_score"].iloc[0] == "511"
    assert scores["rfm_score"].iloc[9] == "155"
    assert scores["rfm_score"].iloc[10] == "111"  # never bought


def test_rfm_edges_are_reused_and_ties_fall_in_the_lower_bin() -> None:
    edges = {"r": [1.0, 2.0, 3.0, 4.0], "f": [1.0, 2.0, 3.0, 4.0], "m": [1.0, 2.0, 3.0, 4.0]}
    new = pd.DataFrame(
        {
            "recency_days": [2.0, 0.0, 99.0],
            "frequency": [2.0, 50.0, 1.0],
            "gross_spend": [4.0, 9.0, 0.5],
        }
    )
    scores = rfm.score(new, edges, "gross_spend")
    assert scores["rfm_r"].tolist() == [4, 5, 1]
    assert scores["rfm_f"].tolist() == [2, 5, 1]
    assert scores["rfm_m"].tolist() == [4, 5, 1]
