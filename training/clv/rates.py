"""Scale-free value rates as cintel-clv features: what a customer is worth per day.

The boosters learn on a snapshot one horizon before the one they score, when every
customer was younger; totals such as ``spend_total`` then sit on a different scale at
scoring time (on CDNOW, one acquisition cohort, by a third at the 1997 cutoffs), while a
value per day carries over. Last year's run rate (the naive baseline's own figure) and
the value per day of purchase history; NaN where an input column is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.clv.metrics import naive_value

RATE_FEATURES = ("value_rate_365d", "value_per_day")


def _numeric(features: pd.DataFrame, name: str) -> np.ndarray:
    if name not in features.columns:
        return np.full(len(features), np.nan)
    return pd.to_numeric(features[name], errors="coerce").to_numpy(dtype="float64")


def rate_features(features: pd.DataFrame, target: str, horizon_days: int) -> pd.DataFrame:
    """RATE_FEATURES per row: <target>_365d ÷ clip(tenure, H, 365) days and
    <target>_total ÷ (days since the first purchase + 1)."""
    total = _numeric(features, "margin_total" if target == "margin" else "spend_total")
    first = _numeric(features, "btyd_T")
    out = {"value_per_day": total / (np.nan_to_num(first, nan=0.0) + 1.0)}
    needed = ("margin_365d" if target == "margin" else "spend_365d", "tenure_days")
    if all(c in features.columns for c in needed):
        out["value_rate_365d"] = naive_value(features, horizon_days, target) / horizon_days
    else:
        out["value_rate_365d"] = np.full(len(features), np.nan)
    return pd.DataFrame({k: out[k] for k in RATE_FEATURES}, index=features.index)
