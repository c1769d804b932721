"""How concentrated value is (Pareto 80/20): Lorenz curve, Gini and the top-20 % share.

Customers are sorted by value, lowest first; the Lorenz curve is the cumulative share of
customers (x) against the cumulative share of the total value (y). Gini = 1 − 2 × the area
under the curve (0: everyone the same; 1: one customer has it all). With value destroyers
(negative values) the curve dips below 0 and the Gini can exceed 1: read it with the
top-20 % share, the share of the total held by the most valuable fifth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

TOP_SHARE = 0.2


def lorenz(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of customers, share of value), both starting at 0; NaN for a zero total."""
    v = np.sort(np.asarray(values, dtype="float64"))
    total = v.sum()
    x = np.arange(len(v) + 1) / max(len(v), 1)
    if len(v) == 0 or total == 0:
        return x, np.full(len(v) + 1, np.nan)
    return x, np.r_[0.0, np.cumsum(v)] / total


def gini(values: np.ndarray) -> float:
    """1 − 2 × the area under the Lorenz curve (trapezoids)."""
    x, y = lorenz(values)
    if len(x) < 2 or np.isnan(y).any():
        return float("nan")
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    return 1.0 - 2.0 * area


def top_share(values: np.ndarray, top: float = TOP_SHARE) -> float:
    """Share of the total value held by the ``top`` fraction of customers (at least one)."""
    v = np.sort(np.asarray(values, dtype="float64"))[::-1]
    total = v.sum()
    if len(v) == 0 or total == 0:
        return float("nan")
    k = max(1, round(top * len(v)))
    return float(v[:k].sum() / total)


def concentration_table(
    frame: pd.DataFrame, measures: Sequence[str], groups: Sequence[str]
) -> pd.DataFrame:
    """One row per (breakdown, group, measure): all customers, then each value of every
    column in ``groups`` (e.g. value tier, segment): customers, total, Gini, top-20 %."""
    rows = []
    parts: list[tuple[str, str, pd.DataFrame]] = [("all", "all", frame)]
    for column in groups:
        for key, part in frame.groupby(column, observed=True, sort=True):
            parts.append((column, str(key), part))
    for breakdown, group, part in parts:
        for measure in measures:
            v = part[measure].to_numpy(dtype="float64")
            rows.append(
                {
                    "breakdown": breakdown,
                    "group": group,
                    "measure": measure,
                    "customers": len(v),
                    "total": float(v.sum()),
                    "gini": gini(v),
                    "top20_share": top_share(v),
                }
            )
    return pd.DataFrame(rows)
