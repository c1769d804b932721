"""Value tiers from net margin over the last 12 months (``margin_365d``).

Among customers with positive margin, the top ``shares[0]`` are platinum, the next
``shares[1]`` gold, the next ``shares[2]`` silver and the rest bronze. Net margin <= 0
(missing counts as 0) is ``value_destroyer``: kept and scored, never dropped. The cut
points are margin values: a customer is platinum when margin >= the platinum cut, so ties
at a cut all go to the higher tier.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from training.segments.config import TIERS

MARGIN_COLUMN = "margin_365d"


def _margin(frame: pd.DataFrame) -> np.ndarray:
    if MARGIN_COLUMN not in frame.columns:
        raise ValueError(f"required column {MARGIN_COLUMN} missing from the features")
    return cast(np.ndarray, np.nan_to_num(frame[MARGIN_COLUMN].to_numpy(dtype="float64"), nan=0.0))


def fit_cuts(frame: pd.DataFrame, shares: tuple[float, float, float]) -> list[float]:
    """Minimum margins of platinum, gold and silver (inf when a tier gets nobody)."""
    margin = _margin(frame)
    positive = np.sort(margin[margin > 0])[::-1]
    counts = np.floor(np.cumsum(shares) * len(positive) + 0.5 + 1e-9).astype(int)
    return [float(positive[c - 1]) if c > 0 else float("inf") for c in counts]


def assign(frame: pd.DataFrame, cuts: list[float]) -> np.ndarray:
    """Tier name per row."""
    margin = _margin(frame)
    platinum, gold, silver = cuts
    conditions = [
        margin <= 0,
        margin >= platinum,
        margin >= gold,
        margin >= silver,
    ]
    choices = [TIERS[4], TIERS[0], TIERS[1], TIERS[2]]
    return np.select(conditions, choices, default=TIERS[3]).astype(object)


def tier_summary(frame: pd.DataFrame, tiers: np.ndarray) -> pd.DataFrame:
    """Count, customer share, margin and share of the total net margin per tier.

    All five tiers are listed; the margin shares sum to 1 (value destroyers negative) and
    are NaN when the total net margin is not positive.
    """
    margin = _margin(frame)
    table = pd.DataFrame({"tier": tiers, "margin": margin})
    grouped = table.groupby("tier", sort=False)["margin"].agg(["size", "sum"])
    grouped = grouped.reindex(list(TIERS), fill_value=0)
    total = float(margin.sum())
    return pd.DataFrame(
        {
            "tier": list(TIERS),
            "count": grouped["size"].to_numpy().astype("int64"),
            "customer_share": grouped["size"].to_numpy() / max(len(margin), 1),
            "margin_365d": grouped["sum"].to_numpy(),
            "margin_share": grouped["sum"].to_numpy() / total if total > 0 else np.nan,
        }
    )
