"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005) fitted by maximum likelihood."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, psi
from sklearn.base import BaseEstimator

from training.clv._fit import as_float, collapse, fit_log_params, numerical_hessian


def _loglik_terms(theta: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood of the mean spend m over x repeat purchases, and its gradient."""
    p, q, v = np.exp(theta)
    px = p * x
    lvm = np.log(v + m * x)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * lvm
    )
    d_p = x * (psi(px + q) - psi(px) + np.log(m) + np.log(x) - lvm)
    d_q = psi(px + q) - psi(q) + np.log(v) - lvm
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.stack([d_p * p, d_q * q, d_v * v])


def _split(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, m = as_float("frequency", frequency), as_float("monetary_value", monetary_value)
    if len(x) != len(m):
        raise ValueError("frequency and monetary_value must have the same length")
    if (x < 0).any():
        raise ValueError("frequency must be non-negative")
    return x, m


class GammaGamma(BaseEstimator):
    """Gamma-Gamma model of the average spend per repeat purchase.

    The model needs positive spends, so ``fit`` uses the repeat buyers (frequency > 0) whose
    mean spend is positive and ignores the others. Prediction never fails on the rest:
    a repeat buyer with a zero or negative mean (returns exceed purchases) keeps their own
    observed mean, so value destroyers stay visible as a tier instead of being shrunk
    towards the positive population mean; customers without repeats get the population
    mean p·γ/(q−1).
    """

    def __init__(self, tol: float = 1e-9, max_iter: int = 500) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> GammaGamma:
        """Maximum-likelihood fit on positive repeat spenders; sets p_, q_, v_, loglik_."""
        x, m = _split(frequency, monetary_value)
        usable = (x > 0) & (m > 0)
        if usable.sum() < 2:
            raise ValueError("Gamma-Gamma needs at least 2 repeat buyers with positive spend")
        w_in = None if weights is None else as_float("weights", weights)[usable]
        (ux, um), w = collapse((x[usable], m[usable]), w_in)
        total = float(w.sum())

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = _loglik_terms(theta, ux, um)
            return -float(w @ ll) / total, -(grad @ w) / total

        mean_m = float(np.average(um, weights=w))
        theta = fit_log_params(objective, np.log([1.0, 2.0, mean_m]), self.max_iter, self.tol)
        self.p_, self.q_, self.v_ = (float(v) for v in np.exp(theta))
        self.loglik_ = float(w @ _loglik_terms(theta, ux, um)[0])
        hess = numerical_hessian(lambda th: objective(th)[1] * total, theta)
        self.log_params_cov_ = np.linalg.pinv(hess)
        self.n_fitted_ = total
        self.n_excluded_ = int((~usable).sum())
        return self

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters by name (v is the paper's γ)."""
        return {"p": self.p_, "q": self.q_, "v": self.v_}

    @property
    def population_mean_(self) -> float:
        """Expected spend per purchase of a customer we know nothing about: p·γ/(q−1)."""
        return self.p_ * self.v_ / (self.q_ - 1.0) if self.q_ > 1.0 else float("inf")

    def conditional_expected_average_spend(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> np.ndarray:
        """E[spend per purchase | x, m_x]: shrinkage estimate, or the observed mean if m_x ≤ 0."""
        x, m = _split(frequency, monetary_value)
        p, q, v = self.p_, self.q_, self.v_
        shrunk = p * (v + x * m) / (p * x + q - 1.0)
        out = np.where(m > 0, shrunk, m)
        return np.where(x > 0, out, self.population_mean_)

    def posterior_rate(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gamma(shape, rate) posterior of each customer's spend rate ν (mean spend p/ν)."""
        x, m = _split(frequency, monetary_value)
        pos = (x > 0) & (m > 0)
        shape = np.where(pos, self.p_ * x + self.q_, self.q_)
        rate = np.where(pos, self.v_ + x * m, self.v_)
        return shape, rate
