"""BG/NBD (Fader, Hardie & Lee 2005) fitted by maximum likelihood in log space."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, expit, gammaln, hyp2f1, psi
from sklearn.base import BaseEstimator

from training.clv.mle import check_rft, collapse, fit_log_params, numerical_hessian, remembered_fit

WARM_START_HISTORIES = 20_000


def _loglik_rows(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood, the textbook form kept in log space.

    LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
         + logaddexp(−(r+x) ln(α+T), [x>0] (ln a − ln(b+x−1) − (r+x) ln(α+t_x)))
    so heavy buyers and long histories cannot overflow.
    """
    pos = x > 0
    head = gammaln(r + x) - gammaln(r) + betaln(a, b + x) - betaln(a, b) + r * np.log(alpha)
    l1 = -(r + x) * np.log(alpha + T)
    bx1 = np.where(pos, b + x - 1.0, 1.0)
    l2 = np.where(pos, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return cast(np.ndarray, head + np.logaddexp(l1, l2))


@dataclass(frozen=True)
class _Histories:
    """Weighted distinct histories, split into x = 0 and x > 0, with each row pointing at
    the distinct values of x, t_x and T so logs and digammas are computed once per value."""

    w0: np.ndarray  # x = 0 rows: weight and index into T_u
    T0: np.ndarray
    w: np.ndarray  # x > 0 rows
    wx: np.ndarray
    xi: np.ndarray
    ti: np.ndarray
    Ti: np.ndarray
    x_u: np.ndarray
    W_x: np.ndarray
    tx_u: np.ndarray
    T_u: np.ndarray
    x_rows: np.ndarray
    W_T: np.ndarray  # total weight, and weight × x, of repeat buyers per distinct T
    WX_T: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> _Histories:
        pos = x > 0
        x_u, xi = np.unique(x[pos], return_inverse=True)
        tx_u, ti = np.unique(t_x[pos], return_inverse=True)
        T_u, Ti_all = np.unique(T, return_inverse=True)
        Ti_all = Ti_all.ravel()
        xi = xi.ravel()
        return cls(
            w0=w[~pos],
            T0=Ti_all[~pos],
            w=w[pos],
            wx=w[pos] * x[pos],
            xi=xi,
            ti=ti.ravel(),
            Ti=Ti_all[pos],
            x_u=x_u,
            W_x=np.bincount(xi, weights=w[pos], minlength=len(x_u)),
            tx_u=tx_u,
            T_u=T_u,
            x_rows=x[pos],
            W_T=np.bincount(Ti_all[pos], weights=w[pos], minlength=len(T_u)),
            WX_T=np.bincount(Ti_all[pos], weights=w[pos] * x[pos], minlength=len(T_u)),
        )


def _loglik_and_grad(theta: np.ndarray, h: _Histories) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood and its gradient with respect to log-parameters.

    Same likelihood as ``_loglik_rows``, rearranged for speed: with d = ln a − ln(b+x−1)
    + (r+x)(ln(α+T) − ln(α+t_x)), a repeat buyer contributes
    head − (r+x) ln(α+T) + softplus(d), and P(dropped out at t_x) = expit(d).
    """
    r, alpha, a, b = np.exp(theta)
    lalpha = np.log(alpha)
    lT_u, iT_u = np.log(alpha + h.T_u), 1.0 / (alpha + h.T_u)
    # customers without repeat purchases: r ln α − r ln(α+T)
    lT0 = lT_u[h.T0]
    W0 = h.w0.sum()
    ll = W0 * r * lalpha - r * (h.w0 @ lT0)
    g_r = W0 * lalpha - h.w0 @ lT0
    g_alpha = W0 * r / alpha - r * (h.w0 @ iT_u[h.T0])
    g_a = g_b = 0.0
    if len(h.w):
        x_u, W_x = h.x_u, h.W_x
        per_x = gammaln(r + x_u) - gammaln(r) + betaln(a, b + x_u) - betaln(a, b)
        c2 = np.log(a) - np.log(b + x_u - 1.0)
        itx_u = 1.0 / (alpha + h.tx_u)
        lT = lT_u[h.Ti]
        gap = lT - np.log(alpha + h.tx_u)[h.ti]
        rx = r + h.x_rows
        d = c2[h.xi] + rx * gap
        dead = expit(d)
        wd = h.w * dead
        Wp = h.w.sum()
        ll += W_x @ per_x + Wp * r * lalpha - r * (h.W_T @ lT_u) - h.WX_T @ lT_u
        ll += h.w @ np.logaddexp(0.0, d)
        g_r += W_x @ (psi(r + x_u) - psi(r)) + Wp * lalpha - h.W_T @ lT_u + wd @ gap
        g_alpha += Wp * r / alpha - r * (h.W_T @ iT_u) - h.WX_T @ iT_u
        g_alpha -= (wd * rx) @ (itx_u[h.ti] - iT_u[h.Ti])
        g_a = W_x @ (psi(a + b) - psi(a + b + x_u)) + wd.sum() / a
        wd_x = np.bincount(h.xi, weights=wd, minlength=len(x_u))
        g_b = W_x @ (psi(b + x_u) - psi(a + b + x_u) - psi(b) + psi(a + b))
        g_b -= wd_x @ (1.0 / (b + x_u - 1.0))
    grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
    return float(ll), grad


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
        out: np.ndarray = 1.0 - (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        bad = ~np.isfinite(out)
        if bad.any():
            w = np.broadcast_to(t / (alpha + T), out.shape)
            xb, cb = np.broadcast_to(x, out.shape)[bad], np.broadcast_to(c, out.shape)[bad]
            out[bad] = 1.0 - hyp2f1(r + xb, a - 1.0, cb, -w[bad])
            bad = ~np.isfinite(out)
            xb, cb = np.broadcast_to(x, out.shape)[bad], np.broadcast_to(c, out.shape)[bad]
            out[bad] = 1.0 - (1.0 + w[bad] * (a - 1.0) / cb) ** -(r + xb)
    return out


def _objective(h: _Histories, total: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Mean negative log-likelihood and gradient over log-parameters."""

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _loglik_and_grad(theta, h)
        return -ll / total, -grad / total

    return objective


class BetaGeo(BaseEstimator):
    """BG/NBD purchase model with the scikit-learn estimator contract.

    ``fit`` collapses customers with identical (frequency, recency, T) into weighted rows,
    so its cost grows with the number of distinct histories, not of customers. Time is in
    whatever unit recency and T are given (days for cintel's features, weeks for CDNOW).
    """

    def __init__(self, tol: float = 1e-9, max_iter: int = 500) -> None:
        self.tol = tol
        self.max_iter = max_iter

    @remembered_fit
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
        alpha0 = float(np.average(uT, weights=w)) / max(float(np.average(ux, weights=w)), 0.1)
        theta = np.log([1.0, alpha0, 1.0, 1.0])
        hess_inv = None
        if len(w) > WARM_START_HISTORIES:
            # a multinomial sample of customers finds the neighbourhood of the optimum and
            # the curvature cheaply; the full data then needs only a few BFGS steps
            rng = np.random.default_rng(0)
            rows = rng.choice(len(w), size=WARM_START_HISTORIES, p=w / w.sum())
            rows, counts = np.unique(rows, return_counts=True)
            sub = _Histories.build(ux[rows], utx[rows], uT[rows], counts.astype(np.float64))
            sub_objective = _objective(sub, float(counts.sum()))
            theta, _ = fit_log_params(sub_objective, theta, self.max_iter, 1e-6)
            curvature = numerical_hessian(lambda th: sub_objective(th)[1], theta)
            if np.all(np.linalg.eigvalsh(curvature) > 0):
                inverse = np.linalg.inv(curvature)
                hess_inv = (inverse + inverse.T) / 2
        h = _Histories.build(ux, utx, uT, w)
        total = float(w.sum())
        objective = _objective(h, total)
        theta, _ = fit_log_params(objective, theta, self.max_iter, self.tol, hess_inv)
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(theta))
        self.loglik_ = _loglik_and_grad(theta, h)[0]
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
        return _loglik_rows(self.r_, self.alpha_, self.a_, self.b_, x, t_x, t)

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
        return cast(
            np.ndarray,
            c / (self.a_ - 1.0) * bracket * self.conditional_probability_alive(x, t_x, big_t),
        )

    def expected_purchases(self, t: float | ArrayLike) -> np.ndarray:
        """Unconditional E[X(t)]: purchases of a new customer in (0, t]."""
        horizon = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = horizon / (alpha + horizon)
        bracket = 1.0 - (alpha / (alpha + horizon)) ** r * hyp2f1(r, b, a + b - 1.0, z)
        return cast(np.ndarray, (a + b - 1.0) / (a - 1.0) * bracket)

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
