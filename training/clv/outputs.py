"""Per-customer CLV outputs from fitted BG/NBD and Gamma-Gamma models (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.clv.bgnbd import BetaGeo
from training.clv.gamma_gamma import GammaGamma
from training.clv.interval import interval
from training.clv.memo import Memo
from training.clv.mle import check_rft, group_rows

DAYS_PER_MONTH = 365.25 / 12
CLV_MONTHS = (3, 6, 12)
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


@dataclass(frozen=True)
class ClvColumns:
    """``clv_columns``' result: the output columns (one row per input row), the distinct
    (x, t_x, T) histories, their discounted expected purchases over each of CLV_MONTHS
    (histories, 3), and each row's history (``hist[k][inverse]`` is the rows' column k)."""

    columns: dict[str, np.ndarray]
    discounted: np.ndarray
    hist: tuple[np.ndarray, np.ndarray, np.ndarray]
    inverse: np.ndarray


def _monthly_flow(
    purchases: BetaGeo, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, month: float, n: int
) -> np.ndarray:
    """(histories, n) expected purchases in each of the next n months."""
    cum = np.column_stack(
        [purchases.conditional_expected_purchases(m * month, x, t_x, T) for m in range(1, n + 1)]
    )
    return np.diff(cum, axis=1, prepend=0.0)


def clv_columns(
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
    chunk_size: int | None = None,
    memo: Memo | None = None,
) -> ClvColumns:
    """``clv_outputs``' columns as arrays, with what ``btyd_part.btyd_frame`` needs besides
    (the discounted expected purchases over 3, 6 and 12 months, and the distinct histories)."""
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
    fixed = (x > 0) & (m <= 0)
    fixed_hist = np.zeros(len(first), dtype=bool)
    fixed_hist[inverse[fixed]] = True
    q = interval(
        purchases, spend, hist, alive, discount, n_months * month, n_draws, seed, fixed_hist,
        chunk_size, memo,
    )[inverse]  # fmt: skip
    per_purchase = spend.conditional_expected_average_spend(x, m)
    out: dict[str, np.ndarray] = {
        "prob_alive": alive[inverse],
        f"expected_purchases_{horizon_days}d": expected[inverse],
        "expected_spend_per_purchase": per_purchase,
    }
    sums = [discounted[:, :n].sum(axis=1) for n in CLV_MONTHS]
    for n, total_n in zip(CLV_MONTHS, sums, strict=True):
        out[f"clv_{n}m"] = total_n[inverse] * per_purchase
    scale = spend.v_ + np.where(fixed, 0.0, x * m)
    out["clv_12m_p10"] = np.where(fixed, np.minimum(m * q[:, 2], m * q[:, 3]), scale * q[:, 0])
    out["clv_12m_p90"] = np.where(fixed, np.maximum(m * q[:, 2], m * q[:, 3]), scale * q[:, 1])
    return ClvColumns(out, np.column_stack(sums), hist, inverse)


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
    chunk_size: int | None = None,
    memo: Memo | None = None,
) -> pd.DataFrame:
    """Probability alive, expected purchases and spend, discounted CLV and its 12-month interval.

    ``summary`` holds frequency, recency, T (in units of ``unit_days``) and the mean spend
    (or margin) per repeat purchase, named by ``columns``; the result keeps its index.
    CLV over N months is Σ_m E[purchases in month m] · E[spend per purchase] / (1+d)^m with
    months of 365.25/12 days and d = ``monthly_discount``. clv_12m_p10/p90 are quantiles of
    ``n_draws`` posterior-predictive draws per distinct history (``interval.history_draws``)
    drawn from hashes of (``seed``, x, t_x, T): a customer's interval is the same whatever
    the other rows of ``summary``, their order, or ``chunk_size`` (histories per block of
    draws). Purchase-model quantities are computed once per distinct (x, t_x, T) history;
    ``memo`` shares the interval quantiles of histories across the calls of one batch.
    """
    res = clv_columns(
        summary, purchases, spend, unit_days=unit_days, horizon_days=horizon_days,
        monthly_discount=monthly_discount, n_draws=n_draws, seed=seed, columns=columns,
        chunk_size=chunk_size, memo=memo,
    )  # fmt: skip
    return pd.DataFrame(res.columns, index=summary.index)
