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


def _history_draws(
    purchases: BetaGeo,
    spend: GammaGamma,
    x: np.ndarray,
    T: np.ndarray,
    alive: np.ndarray,
    month: float,
    n_months: int,
    monthly_discount: float,
    n_draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(histories, n_draws) posterior-predictive draws of the discounted value over n months.

    Exact under BG/NBD and Gamma-Gamma at the fitted parameters: the customer is alive with
    probability P(alive); if alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); the number of
    purchases left before dropping out is K ~ Geometric(p); each month brings
    Poisson(λ·month) purchases until K is used up. Spend per purchase is Gamma(p, ν) with
    ν ~ Gamma(px+q, γ+x·m) (the prior Gamma(q, γ) without repeats), so a month's spend is
    (γ+x·m) · G_month / G_ν with G_month ~ Gamma(p·count, 1) and G_ν ~ Gamma(px+q, 1): the
    customer's own mean m only scales the draw. Returned are R = Σ disc·G_month / G_ν (value
    per unit of γ+x·m) and D = Σ disc·count (discounted purchases, for fixed-spend customers),
    both functions of the history (x, t_x, T) alone. Parameter uncertainty is not included.
    """
    shape = (len(x), n_draws)
    is_alive = rng.random(shape) < alive[:, None]
    lam = rng.gamma(purchases.r_ + x[:, None], 1.0 / (purchases.alpha_ + T[:, None]), shape)
    p_drop = rng.beta(purchases.a_, purchases.b_ + x[:, None], shape)
    left = np.where(is_alive, rng.geometric(np.clip(p_drop, 1e-300, 1.0)), 0)
    nu_shape = np.where(x > 0, spend.p_ * x + spend.q_, spend.q_)
    g_nu = rng.gamma(nu_shape[:, None], 1.0, shape)
    value = np.zeros(shape)
    count_disc = np.zeros(shape)
    for month_i in range(1, n_months + 1):
        disc = (1.0 + monthly_discount) ** -month_i
        count = np.minimum(rng.poisson(lam * month), left)
        left = left - count
        value += disc * rng.gamma(spend.p_ * count)
        count_disc += disc * count
    return value / g_nu, count_disc


def _interval(
    purchases: BetaGeo,
    spend: GammaGamma,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    m: np.ndarray,
    month: float,
    monthly_discount: float,
    n_draws: int,
    seed: int,
    chunk_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """p10 and p90 of 12-month value; draws are made once per distinct (x, t_x, T) history."""
    hist, inverse = np.unique(np.column_stack([x, t_x, T]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    hx, htx, hT = hist[:, 0], hist[:, 1], hist[:, 2]
    alive = purchases.conditional_probability_alive(hx, htx, hT)
    q = np.empty((len(hist), 4))  # R p10, R p90, D p10, D p90
    rng = np.random.default_rng(seed)
    for start in range(0, len(hist), chunk_size):
        sl = slice(start, start + chunk_size)
        r_draws, d_draws = _history_draws(
            purchases,
            spend,
            hx[sl],
            hT[sl],
            alive[sl],
            month,
            max(CLV_MONTHS),
            monthly_discount,
            n_draws,
            rng,
        )
        q[sl, :2] = np.quantile(r_draws, [0.1, 0.9], axis=1).T
        q[sl, 2:] = np.quantile(d_draws, [0.1, 0.9], axis=1).T
    q = q[inverse]
    fixed = (x > 0) & (m <= 0)
    scale = spend.v_ + np.where(fixed, 0.0, x * m)
    lo = np.where(fixed, np.minimum(m * q[:, 2], m * q[:, 3]), scale * q[:, 0])
    hi = np.where(fixed, np.maximum(m * q[:, 2], m * q[:, 3]), scale * q[:, 1])
    return lo, hi


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
    ``n_draws`` posterior-predictive draws per distinct history (see ``_history_draws``).
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
    lo, hi = _interval(
        purchases, spend, x, t_x, T, m, month, monthly_discount, n_draws, seed, chunk_size
    )
    out["clv_12m_p10"] = lo
    out["clv_12m_p90"] = hi
    return out
