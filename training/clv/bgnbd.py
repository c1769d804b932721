"""BG/NBD (Fader, Hardie & Lee 2005) fitted by maximum likelihood in log space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, expit, gammaln, hyp2f1, psi
from sklearn.base import BaseEstimator

from training.clv._fit import check_rft, collapse, fit_log_params, numerical_hessian


@dataclass(frozen=True)
class _Histories:
    """Distinct (x, t_x, T) rows with weights; x-only terms are evaluated once per unique x."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    w: np.ndarray
    x_unique: np.ndarray
    x_index: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> _Histories:
        xu, xi = np.unique(x, return_inverse=True)
        return cls(x, t_x, T, w, xu, xi.ravel())


def _loglik_terms(
    theta: np.ndarray, h: _Histories, with_grad: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-row log-likelihood and (optionally) its gradient with respect to log-parameters.

    LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
         + logaddexp(−(r+x) ln(α+T), [x>0] (ln a − ln(b+x−1) − (r+x) ln(α+t_x)))
    Every term stays in log space, so heavy buyers and long histories cannot overflow.
    """
    r, alpha, a, b = np.exp(theta)
    x, pos = h.x, h.x > 0
    xu = h.x_unique
    per_x = gammaln(r + xu) - gammaln(r) + betaln(a, b + xu) - betaln(a, b)
    la_T = np.log(alpha + h.T)
    la_tx = np.log(alpha + h.t_x)
    l1 = -(r + x) * la_T
    bx1 = np.where(pos, b + x - 1.0, 1.0)
    l2 = np.where(pos, np.log(a) - np.log(bx1) - (r + x) * la_tx, -np.inf)
    lse = np.logaddexp(l1, l2)
    ll = per_x[h.x_index] + r * np.log(alpha) + lse
    if not with_grad:
        return ll, None
    w1 = np.exp(l1 - lse)
    w2 = np.where(pos, np.exp(l2 - lse), 0.0)
    i = h.x_index
    d_r = (psi(r + xu) - psi(r))[i] + np.log(alpha) - w1 * la_T - w2 * la_tx
    d_alpha = r / alpha - (r + x) * (w1 / (alpha + h.T) + w2 / (alpha + h.t_x))
    d_a = (psi(a + b) - psi(a + b + xu))[i] + w2 / a
    d_b = (psi(b + xu) - psi(a + b + xu) - psi(b) + psi(a + b))[i] - w2 / bx1
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return ll, grad


def _bracket(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t)), computed stably.

    Euler's transformation gives 1 − (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z), which is
    well-behaved for heavy buyers. Where it still fails (a and b in the millions, i.e. almost
    no drop-out), Pfaff's form 1 − 2F1(r+x, a−1; a+b+x−1; −t/(α+T)) is tried, and last its
    limit for a+b → ∞: 1 − (1 + t·p/(α+T))^−(r+x) with p = (a−1)/(a+b+x−1).
    """
    c = a + b + x - 1.0
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        out = 1.0 - (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        bad = ~np.isfinite(out)
        if bad.any():
            w = np.broadcast_to(t / (alpha + T), out.shape)
            xb, cb = np.broadcast_to(x, out.shape)[bad], np.broadcast_to(c, out.shape)[bad]
            out[bad] = 1.0 - hyp2f1(r + xb, a - 1.0, cb, -w[bad])
            bad = ~np.isfinite(out)
            xb, cb = np.broadcast_to(x, out.shape)[bad], np.broadcast_to(c, out.shape)[bad]
            out[bad] = 1.0 - (1.0 + w[bad] * (a - 1.0) / cb) ** -(r + xb)
    return out


class BetaGeo(BaseEstimator):
    """BG/NBD purchase model with the scikit-learn estimator contract.

    ``fit`` collapses customers with identical (frequency, recency, T) into weighted rows,
    so its cost grows with the number of distinct histories, not of customers. Time is in
    whatever unit recency and T are given (days for cintel's features, weeks for CDNOW).
    """

    def __init__(self, tol: float = 1e-9, max_iter: int = 500) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeo:
        """Maximum-likelihood fit; sets r_, alpha_, a_, b_, loglik_ and log_params_cov_."""
        x, t_x, t = check_rft(frequency, recency, T)
        (ux, utx, uT), w = collapse((x, t_x, t), weights)
        h = _Histories.build(ux, utx, uT, w)
        total = float(w.sum())

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = _loglik_terms(theta, h, True)
            assert grad is not None
            return -float(w @ ll) / total, -(grad @ w) / total

        alpha0 = float(np.average(uT, weights=w)) / max(float(np.average(ux, weights=w)), 0.1)
        theta = fit_log_params(objective, np.log([1.0, alpha0, 1.0, 1.0]), self.max_iter, self.tol)
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(theta))
        self.loglik_ = float(w @ _loglik_terms(theta, h, False)[0])
        hess = numerical_hessian(lambda th: objective(th)[1] * total, theta)
        self.log_params_cov_ = np.linalg.pinv(hess)
        self.n_customers_ = total
        self.n_histories_ = len(w)
        return self

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters by name."""
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    def loglik_per_customer(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Log-likelihood of each customer's history under the fitted parameters."""
        x, t_x, t = check_rft(frequency, recency, T)
        h = _Histories.build(x, t_x, t, np.ones_like(x))
        theta = np.log([self.r_, self.alpha_, self.a_, self.b_])
        return _loglik_terms(theta, h, False)[0]

    def conditional_probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T); 1 for customers without repeat purchases."""
        x, t_x, t = check_rft(frequency, recency, T)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        pos = x > 0
        log_odds_dead = (
            np.log(a)
            - np.log(np.where(pos, b + x - 1.0, 1.0))
            + (r + x) * (np.log(alpha + t) - np.log(alpha + t_x))
        )
        return np.where(pos, expit(-log_odds_dead), 1.0)

    def conditional_expected_purchases(
        self, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T].

        The textbook factor ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z) overflows for
        heavy buyers; see ``_bracket`` for the stable forms used instead.
        """
        x, t_x, big_t = check_rft(frequency, recency, T)
        horizon = np.asarray(t, dtype=np.float64)
        c = self.a_ + self.b_ + x - 1.0
        bracket = _bracket(self.r_, self.alpha_, self.a_, self.b_, x, big_t, horizon)
        return c / (self.a_ - 1.0) * bracket * self.conditional_probability_alive(x, t_x, big_t)

    def expected_purchases(self, t: float | ArrayLike) -> np.ndarray:
        """Unconditional E[X(t)]: purchases of a new customer in (0, t]."""
        horizon = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = horizon / (alpha + horizon)
        bracket = 1.0 - (alpha / (alpha + horizon)) ** r * hyp2f1(r, b, a + b - 1.0, z)
        return (a + b - 1.0) / (a - 1.0) * bracket

    def probability_of_purchases(self, t: float, n: int) -> float:
        """Unconditional P(X(t) = n) for a new customer."""
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        log_q = np.log(alpha) - np.log(alpha + t)
        log_z = np.log(t) - np.log(alpha + t)
        first = np.exp(
            betaln(a, b + n)
            - betaln(a, b)
            + gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1)
            + r * log_q
            + n * log_z
        )
        if n == 0:
            return float(first)
        j = np.arange(n)
        terms = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * log_q + j * log_z)
        second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1.0 - terms.sum())
        return float(first + second)
