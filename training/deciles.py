"""Rows grouped by decile of a score (10 = the highest scores), as the model reports show them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def by_decile(frame: pd.DataFrame, score: str, /, **aggs: tuple[str, str]) -> pd.DataFrame:
    """``frame`` by decile of ``score`` (ties broken by row order), one row per decile with
    ``customers`` (its size) and the named aggregations ``aggs`` (pandas ``agg`` tuples)."""
    ranks = frame[score].rank(method="first")
    deciles = np.ceil(10 * ranks / max(len(frame), 1)).astype(int)
    return (
        frame.assign(decile=deciles)
        .groupby("decile")
        .agg(customers=("customer_id", "size"), **aggs)
        .reset_index()
    )
