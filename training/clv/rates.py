"""Scale-free value rates as cintel-clv features: what a customer is worth per day.

The boosters learn on a snapshot one horizon before the one they score, when every
customer was younger; totals such as ``spend_total`` then sit on a different scale at
scoring time (on CDNOW, one acquisition cohort, by a third at the 1997 cutoffs), while a
value per day carries over. Last year's run rate (the naive baseline's own figure) and
the value per day of purchase history; NaN where an input column is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

RATE_FEATURES = ("value_rate_365d", "value_per_day")


def _numeric(cols: Mapping[str, Any], name: str, n: int) -> np.ndarray:
    if name not in cols:
        return np.full(n, np.nan)
    values = cols[name]
    if isinstance(values, pd.Series):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    return np.asarray(values, dtype="float64")


def rate_columns(
    cols: Mapping[str, Any], n: int, target: str, horizon_days: int
) -> dict[str, np.ndarray]:
    """RATE_FEATURES of ``n`` rows of feature columns (Series or arrays; the one-row
    scoring path of serving.rowscore_clv passes arrays): <target>_365d ÷ clip(tenure, H,
    365) days (``naive_value`` ÷ H) and <target>_total ÷ (days since the first purchase + 1)."""
    total = _numeric(cols, "margin_total" if target == "margin" else "spend_total", n)
    first = _numeric(cols, "btyd_T", n)
    out = {"value_per_day": total / (np.nan_to_num(first, nan=0.0) + 1.0)}
    past_column = "margin_365d" if target == "margin" else "spend_365d"
    if past_column in cols and "tenure_days" in cols:
        past = np.asarray(cols[past_column], dtype="float64")
        tenure = _numeric(cols, "tenure_days", n)
        days = np.clip(np.nan_to_num(tenure, nan=365.0), horizon_days, 365.0)
        # naive_value's arithmetic, in its order, so both paths give the same bits
        out["value_rate_365d"] = np.nan_to_num(past) * horizon_days / days / horizon_days
    else:
        out["value_rate_365d"] = np.full(n, np.nan)
    return {k: out[k] for k in RATE_FEATURES}


def rate_features(features: pd.DataFrame, target: str, horizon_days: int) -> pd.DataFrame:
    """RATE_FEATURES per row of a feature frame (``rate_columns``)."""
    cols = {c: features[c] for c in features.columns}
    values = rate_columns(cols, len(features), target, horizon_days)
    return pd.DataFrame(values, index=features.index)
