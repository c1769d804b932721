"""RFM scores 1–5 from quintile edges learned at fit time and applied unchanged later.

Bins are closed on the right like ``pd.cut``: a value equal to an edge falls in the lower
bin, so ties are resolved the same way on every run. R is reversed (fewer days since the
last purchase = 5). Customers with no purchase (``frequency`` 0 or missing) get 1-1-1.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

QUANTILES = (0.2, 0.4, 0.6, 0.8)


def _buyers(frame: pd.DataFrame) -> np.ndarray:
    freq = frame["frequency"].to_numpy(dtype="float64")
    return cast(np.ndarray, np.nan_to_num(freq, nan=0.0) > 0)


def fit_edges(frame: pd.DataFrame, monetary_column: str) -> dict[str, list[float]]:
    """Quintile edges of recency, frequency and monetary among buyers."""
    buyers = _buyers(frame)
    if not buyers.any():
        raise ValueError("RFM needs at least one customer with a purchase (frequency > 0)")
    edges: dict[str, list[float]] = {}
    for key, col in (("r", "recency_days"), ("f", "frequency"), ("m", monetary_column)):
        values = frame[col].to_numpy(dtype="float64")[buyers]
        values = values[np.isfinite(values)]
        if len(values) == 0:
            raise ValueError(f"RFM: column {col} has no finite value among buyers")
        edges[key] = [float(v) for v in np.quantile(values, QUANTILES)]
    return edges


def score(frame: pd.DataFrame, edges: dict[str, list[float]], monetary_column: str) -> pd.DataFrame:
    """Columns rfm_r, rfm_f, rfm_m (int 1–5) and rfm_score ("545"), one row per input row."""
    buyers = _buyers(frame)
    out: dict[str, np.ndarray] = {}
    for key, col in (("r", "recency_days"), ("f", "frequency"), ("m", monetary_column)):
        values = frame[col].to_numpy(dtype="float64")
        idx = np.searchsorted(np.asarray(edges[key]), values, side="left")
        s = 5 - idx if key == "r" else 1 + idx
        s = np.where(buyers & np.isfinite(values), s, 1)
        out[f"rfm_{key}"] = s.astype("int64")
    r, f, m = out["rfm_r"], out["rfm_f"], out["rfm_m"]
    text = (r * 100 + f * 10 + m).astype(str)
    return pd.DataFrame({**out, "rfm_score": text}, index=frame.index)
