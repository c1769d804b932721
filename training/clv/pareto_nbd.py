"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) fitted by maximum likelihood."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from training.clv._fit import check_rft, collapse


def _log_hyp2f1_c_eq_a_plus_1(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """ln 2F1(a, b; a+1; z) for 0 ≤ z < 1, via Euler: (1−z)^(1−b) · 2F1(1, a+1−b; a+1; z).

    The transformed series has a first parameter of 1, so it stays moderate for heavy
    buyers (large a) where the direct series overflows.
    """
    return (1.0 - b) * np.log1p(-z) + np.log(hyp2f1(1.0, a + 1.0 - b, a + 1.0, z))


def _log_a0(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """ln A0 of Fader & Hardie's note on the Pareto/NBD likelihood (−inf when t_x = T)."""
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        hi, lo, second = alpha, beta, s + 1.0
    else:
        hi, lo, second = beta, alpha, r + x
    second = np.broadcast_to(second, x.shape)
    q1, q2 = hi + t_x, hi + T
    log_a = _log_hyp2f1_c_eq_a_plus_1(rsx, second, (hi - lo) / q1) - rsx * np.log(q1)
    log_b = _log_hyp2f1_c_eq_a_plus_1(rsx, second, (hi - lo) / q2) - rsx * np.log(q2)
    with np.errstate(divide="ignore"):
        return log_a + np.log1p(-np.exp(np.minimum(log_b - log_a, 0.0)))


def _loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (log-space form as in lifetimes)."""
    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) + _log_a0(params, x, t_x, T) - np.log(r + s + x)
    return head + np.logaddexp(alive, dead)


class ParetoNBD(BaseEstimator):
    """Pareto/NBD purchase model with the scikit-learn estimator contract.

    Fitted on collapsed histories like ``BetaGeo``; the gradient is numerical (central
    differences) because the likelihood involves 2F1, so this model is for comparison rather
    than large data. The CDNOW likelihood is flat in β (±0.005 moves it by < 1e-6), so tight
    tolerances are needed to reproduce the published third decimal.
    """

    def __init__(self, tol: float = 1e-10, max_iter: int = 1000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBD:
        """Maximum-likelihood fit; sets r_, alpha_, s_, beta_ and loglik_."""
        x, t_x, t = check_rft(frequency, recency, T)
        (ux, utx, uT), w = collapse((x, t_x, t), weights)
        total = float(w.sum())

        def objective(theta: np.ndarray) -> float:
            with np.errstate(all="ignore"):  # the simplex probes extreme parameters
                ll = _loglik(np.exp(theta), ux, utx, uT)
            value = -float(w @ ll) / total
            return value if np.isfinite(value) else 1e10

        mean_t = float(np.average(uT, weights=w))
        x0 = np.log([1.0, mean_t, 1.0, mean_t])
        res = minimize(objective, x0, method="Nelder-Mead", options={"maxiter": 400})
        res = minimize(
            objective,
            res.x,
            method="L-BFGS-B",
            jac="3-point",
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15},
        )
        self.r_, self.alpha_, self.s_, self.beta_ = (float(v) for v in np.exp(res.x))
        self.loglik_ = float(w @ _loglik(np.exp(res.x), ux, utx, uT))
        return self

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters by name."""
        return {"r": self.r_, "alpha": self.alpha_, "s": self.s_, "beta": self.beta_}

    def _params(self) -> np.ndarray:
        return np.array([self.r_, self.alpha_, self.s_, self.beta_])

    def conditional_probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(alive at T | x, t_x, T)."""
        x, t_x, t = check_rft(frequency, recency, T)
        r, alpha, s, beta = self._params()
        log_odds_dead = (
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + t)
            + s * np.log(beta + t)
            + _log_a0(self._params(), x, t_x, t)
        )
        return expit(-log_odds_dead)

    def conditional_expected_purchases(
        self, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T] (requires s > 1 for a finite mean)."""
        x, t_x, big_t = check_rft(frequency, recency, T)
        horizon = np.asarray(t, dtype=np.float64)
        r, alpha, s, beta = self._params()
        rate = (r + x) * (beta + big_t) / ((alpha + big_t) * (s - 1.0))
        decay = 1.0 - ((beta + big_t) / (beta + big_t + horizon)) ** (s - 1.0)
        return rate * decay * self.conditional_probability_alive(x, t_x, big_t)
