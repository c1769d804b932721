"""Per-customer CLV outputs from fitted BG/NBD and Gamma-Gamma models (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.clv.bgnbd import BetaGeo
from training.clv.gamma_gamma import GammaGamma

DAYS_PER_MONTH = 365.25 / 12
CLV_MONTHS = (3, 6, 12)
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _discounted_monthly_flow(
    purchases: BetaGeo,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    month: float,
    n: int,
    monthly_discount: float,
) -> np.ndarray:
    """(customers, n) expected purchases in each future month, discounted to today."""
    cum = np.column_stack(
        [purchases.conditional_expected_purchases(m * month, x, t_x, T) for m in range(1, n + 1)]
    )
    flow = np.diff(cum, axis=1, prepend=0.0)
    return flow / (1.0 + monthly_discount) ** np.arange(1, n + 1)


def _posterior_predictive_clv(
    purchases: BetaGeo,
    spend: GammaGamma,
    x: np.ndarray,
    T: np.ndarray,
    m: np.ndarray,
    alive: np.ndarray,
    month: float,
    n_months: int,
    monthly_discount: float,
    n_draws: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(customers, n_draws) draws of discounted n-month value given each customer's history.

    Exact under BG/NBD and Gamma-Gamma at the fitted parameters: the customer is alive with
    probability P(alive); if alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); the number of
    purchases left before dropping out is K ~ Geometric(p); each month brings
    Poisson(λ·month) purchases until K is used up. Spend per purchase is Gamma(p, ν) with
    ν ~ Gamma(px+q, γ+x·m) (the prior Gamma(q, γ) without repeats); customers with a
    non-positive mean spend keep it fixed. Parameter uncertainty is not included.
    """
    k = len(x)
    shape = (k, n_draws)
    is_alive = rng.random(shape) < alive[:, None]
    lam = rng.gamma(purchases.r_ + x[:, None], 1.0 / (purchases.alpha_ + T[:, None]), shape)
    p_drop = rng.beta(purchases.a_, purchases.b_ + x[:, None], shape)
    left = np.where(is_alive, rng.geometric(np.clip(p_drop, 1e-300, 1.0)), 0)
    fixed = (x > 0) & (m <= 0)
    nu_shape, nu_rate = spend.posterior_rate(x, m)
    nu = rng.gamma(nu_shape[:, None], 1.0 / nu_rate[:, None], shape)
    total = np.zeros(shape)
    for month_i in range(1, n_months + 1):
        count = np.minimum(rng.poisson(lam * month), left)
        left = left - count
        value = rng.gamma(spend.p_ * count, 1.0 / nu)
        value = np.where(fixed[:, None], m[:, None] * count, value)
        total += value / (1.0 + monthly_discount) ** month_i
    return total


def clv_outputs(
    summary: pd.DataFrame,
    purchases: BetaGeo,
    spend: GammaGamma,
    *,
    unit_days: float = 1.0,
    horizon_days: int = 90,
    monthly_discount: float = 0.01,
    n_draws: int = 400,
    seed: int = 0,
    columns: tuple[str, str, str, str] = SUMMARY_COLUMNS,
    chunk_size: int = 20_000,
) -> pd.DataFrame:
    """Probability alive, expected purchases and spend, discounted CLV and its 12-month interval.

    ``summary`` holds frequency, recency, T (in units of ``unit_days``) and the mean spend
    (or margin) per repeat purchase, named by ``columns``; the result keeps its index.
    CLV over N months is Σ_m E[purchases in month m] · E[spend per purchase] / (1+d)^m with
    months of 365.25/12 days and d = ``monthly_discount``. clv_12m_p10/p90 are quantiles of
    ``n_draws`` posterior-predictive draws per customer (see ``_posterior_predictive_clv``).
    """
    if monthly_discount <= -1.0:
        raise ValueError("monthly_discount must be greater than -1")
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise ValueError(f"summary lacks column(s) {', '.join(missing)}")
    f_col, r_col, t_col, m_col = columns
    x = summary[f_col].to_numpy(dtype=np.float64)
    t_x = summary[r_col].to_numpy(dtype=np.float64)
    T = summary[t_col].to_numpy(dtype=np.float64)
    m = summary[m_col].to_numpy(dtype=np.float64)
    month = DAYS_PER_MONTH / unit_days
    alive = purchases.conditional_probability_alive(x, t_x, T)
    expected = purchases.conditional_expected_purchases(horizon_days / unit_days, x, t_x, T)
    per_purchase = spend.conditional_expected_average_spend(x, m)
    flows = _discounted_monthly_flow(purchases, x, t_x, T, month, max(CLV_MONTHS), monthly_discount)
    out = pd.DataFrame(index=summary.index)
    out["prob_alive"] = alive
    out[f"expected_purchases_{horizon_days}d"] = expected
    out["expected_spend_per_purchase"] = per_purchase
    for n in CLV_MONTHS:
        out[f"clv_{n}m"] = flows[:, :n].sum(axis=1) * per_purchase
    rng = np.random.default_rng(seed)
    lo, hi = np.empty(len(x)), np.empty(len(x))
    for start in range(0, len(x), chunk_size):
        sl = slice(start, start + chunk_size)
        draws = _posterior_predictive_clv(
            purchases,
            spend,
            x[sl],
            T[sl],
            m[sl],
            alive[sl],
            month,
            max(CLV_MONTHS),
            monthly_discount,
            n_draws,
            rng,
        )
        lo[sl], hi[sl] = np.quantile(draws, [0.1, 0.9], axis=1)
    out["clv_12m_p10"] = lo
    out["clv_12m_p90"] = hi
    return out
