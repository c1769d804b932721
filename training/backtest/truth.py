"""What the simulator knows: the oracle's churn probability at any cutoff inside the data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.backtest.windows import Windows

DAYS_PER_YEAR = 365.25
TRUTH_COLUMNS = ("customer_id", "rate_per_year", "death_date")


def oracle_no_purchase(truth: pd.DataFrame, ids: pd.Series, windows: Windows) -> np.ndarray:
    """P(no purchase in [C, C + H)) knowing each customer's latent state: 1 for customers
    who dropped out before the cutoff, else exp(−rate × H) (simulated customers drop out
    only right after a purchase, so a customer alive at C who buys nothing stays alive;
    the simulator's weekly clock is averaged out: rate per year × H ÷ 365.25)."""
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise ValueError(f"ground_truth.parquet lacks column(s) {', '.join(missing)}")
    t = truth.drop_duplicates("customer_id").set_index("customer_id").reindex(pd.Index(ids))
    death = pd.to_datetime(t["death_date"])
    dead = (death.notna() & (death < windows.cutoff)).to_numpy()
    rate = t["rate_per_year"].to_numpy(dtype="float64")
    p = np.exp(-rate * windows.horizon_days / DAYS_PER_YEAR)
    return np.where(dead, 1.0, np.where(np.isfinite(rate), p, np.nan))
