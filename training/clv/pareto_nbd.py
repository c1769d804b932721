"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987) fitted by maximum likelihood."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from training.clv.mle import FIT_THREADS, check_rft, collapse, remembered_fit


def _log_hyp2f1_c_eq_a_plus_1(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """ln 2F1(a, b; a+1; z) for 0 ≤ z < 1, via Euler: (1−z)^(1−b) · 2F1(1, a+1−b; a+1; z).

    The transformed series has a first parameter of 1, so it stays moderate for heavy
    buyers (large a) where the direct series overflows.
    """
    return cast(np.ndarray, (1.0 - b) * np.log1p(-z) + np.log(hyp2f1(1.0, a + 1.0 - b, a + 1.0, z)))


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
        return cast(np.ndarray, log_a + np.log1p(-np.exp(np.minimum(log_b - log_a, 0.0))))


def _loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (log-space form as in lifetimes)."""
    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) + _log_a0(params, x, t_x, T) - np.log(r + s + x)
    return cast(np.ndarray, head + np.logaddexp(alive, dead))


WARM_START_HISTORIES = 20_000


def _objective(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> Callable[[np.ndarray], float]:
    """Mean negative log-likelihood over log-parameters (1e10 where it is not finite)."""
    total = float(w.sum())

    def objective(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):  # the simplex probes extreme parameters
            ll = _loglik(np.exp(theta), x, t_x, T)
        value = -float(w @ ll) / total
        return value if np.isfinite(value) else 1e10

    return objective


def _maximise(
    objective: Callable[[np.ndarray], float],
    theta: np.ndarray,
    max_iter: int,
    tol: float,
    simplex: bool,
    polish: bool = False,
) -> np.ndarray:
    """Nelder-Mead (if ``simplex``) then L-BFGS-B with central-difference gradients;
    ``polish`` (from a nearby start, on large data) stops at a relative change of 1e-12."""
    options = {"maxiter": max_iter, "gtol": tol, "ftol": 1e-15}
    if polish:
        options = {"maxiter": 50, "gtol": max(tol, 1e-8), "ftol": 1e-12}
    with threadpool_limits(limits=FIT_THREADS):
        if simplex:
            theta = minimize(objective, theta, method="Nelder-Mead", options={"maxiter": 400}).x
        res = minimize(objective, theta, method="L-BFGS-B", jac="3-point", options=options)
    return np.asarray(res.x)


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

    @remembered_fit
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
        mean_t = float(np.average(uT, weights=w))
        theta = np.log([1.0, mean_t, 1.0, mean_t])
        if len(w) > WARM_START_HISTORIES:
            # the simplex on a multinomial sample of customers finds the neighbourhood of
            # the optimum; the full data then needs only a few quasi-Newton steps
            rng = np.random.default_rng(0)
            rows, counts = np.unique(
                rng.choice(len(w), size=WARM_START_HISTORIES, p=w / w.sum()), return_counts=True
            )
            sample = (ux[rows], utx[rows], uT[rows], counts.astype(np.float64))
            theta = _maximise(_objective(*sample), theta, self.max_iter, self.tol, True, True)
            full = _objective(ux, utx, uT, w)
            theta = _maximise(full, theta, self.max_iter, self.tol, simplex=False, polish=True)
        else:
            theta = _maximise(_objective(ux, utx, uT, w), theta, self.max_iter, self.tol, True)
        res_x = theta
        self.r_, self.alpha_, self.s_, self.beta_ = (float(v) for v in np.exp(res_x))
        self.loglik_ = float(w @ _loglik(np.exp(res_x), ux, utx, uT))
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
        return cast(np.ndarray, expit(-log_odds_dead))

    def conditional_expected_purchases(
        self, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T] (requires s > 1 for a finite mean)."""
        x, t_x, big_t = check_rft(frequency, recency, T)
        horizon = np.asarray(t, dtype=np.float64)
        r, alpha, s, beta = self._params()
        rate = (r + x) * (beta + big_t) / ((alpha + big_t) * (s - 1.0))
        decay = 1.0 - ((beta + big_t) / (beta + big_t + horizon)) ** (s - 1.0)
        return cast(np.ndarray, rate * decay * self.conditional_probability_alive(x, t_x, big_t))
