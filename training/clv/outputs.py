"""Per-customer CLV outputs from fitted BG/NBD and Gamma-Gamma models (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.clv._fit import check_rft, group_rows
from training.clv.bgnbd import BetaGeo
from training.clv.gamma_gamma import GammaGamma

DAYS_PER_MONTH = 365.25 / 12
CLV_MONTHS = (3, 6, 12)
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _monthly_flow(
    purchases: BetaGeo, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, month: float, n: int
) -> np.ndarray:
    """(histories, n) expected purchases in each of the next n months."""
    cum = np.column_stack(
        [purchases.conditional_expected_purchases(m * month, x, t_x, T) for m in range(1, n + 1)]
    )
    return np.diff(cum, axis=1, prepend=0.0)


def _history_draws(
    purchases: BetaGeo,
    spend: GammaGamma,
    x: np.ndarray,
    T: np.ndarray,
    alive: np.ndarray,
    discount: np.ndarray,
    horizon: float,
    n_draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(histories, n_draws) posterior-predictive draws of discounted value over ``horizon``.

    Under BG/NBD and Gamma-Gamma at the fitted parameters: the customer is alive with
    probability P(alive); if alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); purchases in
    the horizon are N = min(Poisson(λ·horizon), K) with K ~ Geometric(p) the purchases left
    before dropping out. Spend per purchase is Gamma(p, ν) with ν ~ Gamma(px+q, γ+x·m) (the
    prior Gamma(q, γ) without repeats), so total spend is (γ+x·m) · G_N / G_ν with
    G_N ~ Gamma(p·N, 1) and G_ν ~ Gamma(px+q, 1): the customer's own mean m only scales the
    draw. Discounting multiplies by the history's expected discount factor per purchase
    (``discount``), so the draws' mean equals the analytical discounted CLV; only the
    spread of purchase timing within the horizon is ignored. Returned are R = discount·G_N/G_ν
    (value per unit of γ+x·m) and D = discount·N (for fixed-spend customers), both functions
    of the history (x, t_x, T) alone. Parameter uncertainty is not included.
    """
    k = len(x)
    r_draws = np.zeros(k * n_draws)
    d_draws = np.zeros(k * n_draws)
    # only draws in which the customer is alive and buys need the rest
    slot = np.flatnonzero(rng.random(k * n_draws) < np.repeat(alive, n_draws))
    row = slot // n_draws
    lam = rng.gamma(purchases.r_ + x[row], 1.0 / (purchases.alpha_ + T[row]))
    bought = rng.poisson(lam * horizon)
    keep = bought > 0
    slot, row, bought = slot[keep], row[keep], bought[keep]
    p_drop = rng.beta(purchases.a_, purchases.b_ + x[row])
    n = np.minimum(bought, rng.geometric(np.clip(p_drop, 1e-300, 1.0)))
    nu_shape = np.where(x[row] > 0, spend.p_ * x[row] + spend.q_, spend.q_)
    r_draws[slot] = discount[row] * rng.gamma(spend.p_ * n) / rng.gamma(nu_shape)
    d_draws[slot] = discount[row] * n
    return r_draws.reshape(k, n_draws), d_draws.reshape(k, n_draws)


def _interval(
    purchases: BetaGeo,
    spend: GammaGamma,
    hist: tuple[np.ndarray, np.ndarray, np.ndarray],
    alive: np.ndarray,
    discount: np.ndarray,
    horizon: float,
    n_draws: int,
    seed: int,
    chunk_size: int,
) -> np.ndarray:
    """(histories, 4): p10 and p90 of R, then of D (see ``_history_draws``)."""
    hx, _, hT = hist
    q = np.empty((len(hx), 4))
    rng = np.random.default_rng(seed)
    for start in range(0, len(hx), chunk_size):
        sl = slice(start, start + chunk_size)
        r_draws, d_draws = _history_draws(
            purchases, spend, hx[sl], hT[sl], alive[sl], discount[sl], horizon, n_draws, rng
        )
        q[sl, :2] = np.quantile(r_draws, [0.1, 0.9], axis=1).T
        q[sl, 2:] = np.quantile(d_draws, [0.1, 0.9], axis=1).T
    return q


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
    Purchase-model quantities are computed once per distinct (x, t_x, T) history.
    """
    if monthly_discount <= -1.0:
        raise ValueError("monthly_discount must be greater than -1")
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise ValueError(f"summary lacks column(s) {', '.join(missing)}")
    x, t_x, T, m = (summary[c].to_numpy(dtype=np.float64) for c in columns)
    check_rft(x, t_x, T)
    first, inverse = group_rows((x, t_x, T))
    hist = (x[first], t_x[first], T[first])
    month = DAYS_PER_MONTH / unit_days
    n_months = max(CLV_MONTHS)
    alive = purchases.conditional_probability_alive(*hist)
    expected = purchases.conditional_expected_purchases(horizon_days / unit_days, *hist)
    flow = _monthly_flow(purchases, *hist, month, n_months)
    discounted = flow / (1.0 + monthly_discount) ** np.arange(1, n_months + 1)
    total = flow.sum(axis=1)
    discount = np.divide(discounted.sum(axis=1), total, out=np.ones_like(total), where=total > 0)
    q = _interval(
        purchases, spend, hist, alive, discount, n_months * month, n_draws, seed, chunk_size
    )[inverse]
    per_purchase = spend.conditional_expected_average_spend(x, m)
    out = pd.DataFrame(index=summary.index)
    out["prob_alive"] = alive[inverse]
    out[f"expected_purchases_{horizon_days}d"] = expected[inverse]
    out["expected_spend_per_purchase"] = per_purchase
    for n in CLV_MONTHS:
        out[f"clv_{n}m"] = discounted[:, :n].sum(axis=1)[inverse] * per_purchase
    fixed = (x > 0) & (m <= 0)
    scale = spend.v_ + np.where(fixed, 0.0, x * m)
    out["clv_12m_p10"] = np.where(fixed, np.minimum(m * q[:, 2], m * q[:, 3]), scale * q[:, 0])
    out["clv_12m_p90"] = np.where(fixed, np.maximum(m * q[:, 2], m * q[:, 3]), scale * q[:, 1])
    return out
