"""MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD whose customers may also drop out
right after their first purchase, so one-time buyers are not certainly alive."""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, expit, gammaln, hyp2f1, psi
from sklearn.base import BaseEstimator

from training.clv.mle import check_rft, collapse, fit_log_params, numerical_hessian, remembered_fit


def _log_odds_dead(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """ln[P(dropped out at t_x) / P(alive at T)] = ln a − ln(b+x) + (r+x) ln((α+T)/(α+t_x))."""
    return cast(
        np.ndarray, np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )


def _loglik_rows(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood:
    ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b) − (r+x) ln(α+T)
    + ln(1 + exp(log odds dead)); every customer, one-time buyers too, may have dropped out."""
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x + 1.0)
    head = head - betaln(a, b) - (r + x) * np.log(alpha + T)
    return cast(np.ndarray, head + np.logaddexp(0.0, _log_odds_dead(r, alpha, a, b, x, t_x, T)))


def _loglik_and_grad(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood and its gradient with respect to log-parameters."""
    r, alpha, a, b = np.exp(theta)
    ll = float(w @ _loglik_rows(r, alpha, a, b, x, t_x, T))
    d = _log_odds_dead(r, alpha, a, b, x, t_x, T)
    dead = expit(d)
    gap = np.log(alpha + T) - np.log(alpha + t_x)
    rx = r + x
    g_r = psi(rx) - psi(r) + np.log(alpha) - np.log(alpha + T) + dead * gap
    g_alpha = r / alpha - rx / (alpha + T) + dead * rx * (1.0 / (alpha + T) - 1.0 / (alpha + t_x))
    g_a = psi(a + b) - psi(a + b + x + 1.0) + dead / a
    g_b = psi(b + x + 1.0) - psi(a + b + x + 1.0) - psi(b) + psi(a + b) - dead / (b + x)
    grad = np.array([w @ g_r * r, w @ g_alpha * alpha, w @ g_a * a, w @ g_b * b])
    return ll, grad


class ModifiedBetaGeo(BaseEstimator):
    """MBG/NBD purchase model with the scikit-learn estimator contract.

    As BG/NBD, purchases are Poisson at a Gamma-distributed rate λ and a customer drops
    out with a Beta-distributed probability p after a purchase, but the first purchase
    counts too: P(alive | x = 0) < 1, falling as time passes without a repeat purchase.
    ``fit`` collapses identical (frequency, recency, T) histories into weighted rows.
    Customers seen on the last day (T = 0) carry no information and are allowed.
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
    ) -> ModifiedBetaGeo:
        """Maximum-likelihood fit; sets r_, alpha_, a_, b_, loglik_ and log_params_cov_."""
        x, t_x, t = check_rft(frequency, recency, T)
        (ux, utx, uT), w = collapse((x, t_x, t), weights)
        total = float(w.sum())

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = _loglik_and_grad(theta, ux, utx, uT, w)
            return -ll / total, -grad / total

        alpha0 = float(np.average(uT, weights=w)) / max(float(np.average(ux, weights=w)), 0.1)
        theta, _ = fit_log_params(
            objective, np.log([1.0, max(alpha0, 1e-3), 1.0, 1.0]), self.max_iter, self.tol
        )
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(theta))
        self.loglik_ = _loglik_and_grad(theta, ux, utx, uT, w)[0]

        def grad(th: np.ndarray) -> np.ndarray:
            return objective(th)[1] * total

        self.log_params_cov_ = np.linalg.pinv(numerical_hessian(grad, theta))
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
        """P(alive at T | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))."""
        x, t_x, t = check_rft(frequency, recency, T)
        return cast(
            np.ndarray, expit(-_log_odds_dead(self.r_, self.alpha_, self.a_, self.b_, x, t_x, t))
        )

    def conditional_expected_purchases(
        self, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T]
        = (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x+1; a+b+x; z)] · P(alive)
        with z = t/(α+T+t); Euler's transformation of 2F1 keeps heavy buyers finite."""
        x, t_x, big_t = check_rft(frequency, recency, T)
        horizon = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = horizon / (alpha + big_t + horizon)
        # (1−z)^(r+x) 2F1(r+x, b+x+1; a+b+x; z) = (1−z)^(a−1) 2F1(a+b−r, a−1; a+b+x; z)
        with np.errstate(all="ignore"):
            bracket = 1.0 - (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - r, a - 1.0, a + b + x, z)
        alive = self.conditional_probability_alive(x, t_x, big_t)
        return cast(np.ndarray, (a + b + x) / (a - 1.0) * bracket * alive)

    def expected_purchases(self, t: float | ArrayLike) -> np.ndarray:
        """Unconditional E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b+1; a+b; t/(α+t))]."""
        horizon = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = horizon / (alpha + horizon)
        return cast(
            np.ndarray,
            b / (a - 1.0) * (1.0 - (alpha / (alpha + horizon)) ** r * hyp2f1(r, b + 1.0, a + b, z)),
        )
