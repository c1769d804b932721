"""What the simulator knows: the oracle's churn probability at any cutoff inside the data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.backtest.windows import Windows

DAYS_PER_YEAR = 365.25
TRUTH_COLUMNS = ("customer_id", "rate_per_year", "death_date")


def oracle_no_purchase(truth: pd.DataFrame, ids: pd.Series, windows: Windows) -> np.ndarray:
    """``oracle_at`` the split's cutoff and horizon."""
    return oracle_at(truth, ids, windows.cutoff, windows.horizon_days)


def oracle_at(
    truth: pd.DataFrame, ids: pd.Series, cutoff: pd.Timestamp, horizon_days: int
) -> np.ndarray:
    """P(no purchase in [C, C + H)) knowing each customer's latent state: 1 for customers
    who dropped out before the cutoff, else exp(−rate × H) (simulated customers drop out
    only right after a purchase, so a customer alive at C who buys nothing stays alive;
    the simulator's weekly clock is averaged out: rate per year × H ÷ 365.25)."""
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise ValueError(f"ground_truth.parquet lacks column(s) {', '.join(missing)}")
    t = truth.drop_duplicates("customer_id").set_index("customer_id").reindex(pd.Index(ids))
    death = pd.to_datetime(t["death_date"])
    dead = (death.notna() & (death < cutoff)).to_numpy()
    rate = t["rate_per_year"].to_numpy(dtype="float64")
    p = np.exp(-rate * horizon_days / DAYS_PER_YEAR)
    return np.where(dead, 1.0, np.where(np.isfinite(rate), p, np.nan))


def known_rates_no_purchase(
    truth: pd.DataFrame, ids: pd.Series, history: pd.DataFrame, windows: Windows
) -> np.ndarray:
    """P(no purchase in [C, C + H)) knowing each customer's true buying rate and dropout
    probability but not whether they have dropped out: the best any model of the purchase
    history can do (it must estimate both from the history), so an upper bound for cintel
    and the BTYD models, below the oracle. The simulator's process (death right after a
    purchase with probability p, Poisson buying at rate λ while alive) gives, with the
    last purchase ``T − t_x`` days before C, P(alive) = (1 − p) e^(−λ (T − t_x)) ÷ (p +
    (1 − p) e^(−λ (T − t_x))) and P(no purchase) = 1 − P(alive) (1 − e^(−λ H)).
    NaN for customers without ``dropout_prob`` (ground truth from before that column)."""
    n = len(ids)
    if "dropout_prob" not in truth.columns or "rate_per_year" not in truth.columns:
        return np.full(n, np.nan)
    t = truth.drop_duplicates("customer_id").set_index("customer_id").reindex(pd.Index(ids))
    lam = t["rate_per_year"].to_numpy(dtype="float64") / DAYS_PER_YEAR
    p = t["dropout_prob"].to_numpy(dtype="float64")
    silent = (history["btyd_T"] - history["btyd_recency"]).to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", over="ignore"):
        survive = (1.0 - p) * np.exp(-lam * silent)
        alive = np.where(survive > 0, survive / (p + survive), 0.0)
        out = 1.0 - alive * (1.0 - np.exp(-lam * windows.horizon_days))
    return np.where(np.isfinite(lam) & np.isfinite(p) & np.isfinite(silent), out, np.nan)
