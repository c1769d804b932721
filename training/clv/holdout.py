"""P(n purchases in the next t | history) for BG/NBD, MBG/NBD and Pareto/NBD, and the holdout
log-likelihood that chooses among them.

Given alive at T, a BG/NBD customer's rate λ ~ Gamma(r+x, α+T) and drop-out probability
p ~ Beta(a, b+x) are independent. Window purchases are Poisson(λ) until the customer drops
out after one of them, so N = min(B, K) with B ~ NegBin(r+x, (α+T)/(α+T+t)) and
P(K > n) = E[(1−p)^n] = B(a, b+x+n) / B(a, b+x): P(N > n) = P(alive) P(B > n) P(K > n).
MBG/NBD is the same with b+x+1 (the first purchase was a drop-out chance too). Pareto/NBD
customers buy at λ until a remaining lifetime τ with P(τ > u) = ((β+T)/(β+T+u))^s: N is
NegBin at exposure u = min(τ, t), integrated over u by Gauss-Legendre in the CDF of τ.
Dead customers buy nothing: P(N = 0) gains 1 − P(alive).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betainc, betaln, gammaln

from training.clv.bgnbd import BetaGeo
from training.clv.mbgnbd import ModifiedBetaGeo
from training.clv.mle import check_rft
from training.clv.pareto_nbd import ParetoNBD

QUADRATURE_NODES = 48
_TINY = 1e-300


def _log_negbin(
    n: np.ndarray, shape: np.ndarray, log_q: np.ndarray, log_1mq: np.ndarray
) -> np.ndarray:
    """ln P(B = n) for B ~ NegBin(shape, q) (failures before the shape-th success)."""
    with np.errstate(invalid="ignore"):
        tail = np.where(n > 0, n * log_1mq, 0.0)
    return cast(
        np.ndarray, gammaln(shape + n) - gammaln(shape) - gammaln(n + 1.0) + shape * log_q + tail
    )


def _sf_negbin(n: np.ndarray, shape: np.ndarray, q: np.ndarray) -> np.ndarray:
    """P(B > n) = I_{1−q}(n+1, shape), the regularised incomplete beta; 1 for n < 0."""
    return np.where(n >= 0, betainc(np.maximum(n, 0.0) + 1.0, shape, 1.0 - q), 1.0)


def _beta_geo_pmf(
    model: BetaGeo | ModifiedBetaGeo, n: np.ndarray, t: np.ndarray, x: np.ndarray,
    t_x: np.ndarray, T: np.ndarray, extra: float,
) -> np.ndarray:  # fmt: skip
    r, alpha, a, b = model.r_, model.alpha_, model.a_, model.b_
    alive = model.conditional_probability_alive(x, t_x, T)
    q = (alpha + T) / (alpha + T + t)
    bx = b + x + extra

    def survive(k: np.ndarray) -> np.ndarray:  # P(N > k | alive), 1 for k < 0
        kk = np.maximum(k, 0.0)
        return cast(
            np.ndarray, _sf_negbin(k, r + x, q) * np.exp(betaln(a, bx + kk) - betaln(a, bx))
        )

    p = alive * (survive(n - 1.0) - survive(n))
    return cast(np.ndarray, np.where(n == 0, 1.0 - alive + p, p))


def _pareto_pmf(
    model: ParetoNBD, n: np.ndarray, t: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, s, beta = model.r_, model.alpha_, model.s_, model.beta_
    alive = model.conditional_probability_alive(x, t_x, T)
    shape = r + x

    def negbin_at(u: np.ndarray) -> np.ndarray:  # P(B(u) = n), u broadcast against rows
        log_q = np.log(alpha + T) - np.log(alpha + T + u)
        with np.errstate(divide="ignore"):
            log_1mq = np.log(u) - np.log(alpha + T + u)
        out = np.exp(_log_negbin(n, shape, log_q, log_1mq))
        return cast(np.ndarray, np.where(u > 0, out, (n == 0).astype(np.float64)))

    lasts = ((beta + T) / (beta + T + t)) ** s  # P(τ > t): exposed the whole window
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    cdf_t = 1.0 - lasts
    v = (nodes[:, None] + 1.0) / 2.0 * cdf_t  # CDF values of τ in (0, F(t))
    u = (beta + T) * ((1.0 - v) ** (-1.0 / s) - 1.0)
    integral = (weights[:, None] / 2.0 * cdf_t * negbin_at(u)).sum(axis=0)
    p = alive * (lasts * negbin_at(np.broadcast_to(t, x.shape)) + integral)
    return cast(np.ndarray, np.where(n == 0, 1.0 - alive + p, p))


def conditional_purchase_pmf(
    model: Any, n: ArrayLike, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike,
    T: ArrayLike,
) -> np.ndarray:  # fmt: skip
    """P(exactly n purchases in (T, T+t] | x, t_x, T), per customer (n per customer or one n)."""
    x, t_x, big_t = check_rft(frequency, recency, T)
    counts = np.broadcast_to(np.asarray(n, dtype=np.float64), x.shape)
    horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
    if (counts < 0).any() or (counts != np.floor(counts)).any():
        raise ValueError("purchase counts must be non-negative whole numbers")
    if isinstance(model, ParetoNBD):
        out = _pareto_pmf(model, counts, horizon, x, t_x, big_t)
    elif isinstance(model, ModifiedBetaGeo):
        out = _beta_geo_pmf(model, counts, horizon, x, t_x, big_t, 1.0)
    elif isinstance(model, BetaGeo):
        out = _beta_geo_pmf(model, counts, horizon, x, t_x, big_t, 0.0)
    else:
        raise TypeError(f"no purchase pmf for {type(model).__name__}")
    return cast(np.ndarray, np.clip(out, 0.0, 1.0))


def probability_no_purchase(
    model: Any, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """P(no purchase in (T, T+t] | history): the BTYD answer to "will this customer churn"."""
    return conditional_purchase_pmf(model, 0, t, frequency, recency, T)


def holdout_loglik(
    model: Any, n: ArrayLike, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike,
    T: ArrayLike,
) -> np.ndarray:  # fmt: skip
    """ln P(the purchases each customer really made in the holdout | calibration history)."""
    return cast(
        np.ndarray,
        np.log(np.maximum(conditional_purchase_pmf(model, n, t, frequency, recency, T), _TINY)),
    )
