"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005) fitted by maximum likelihood."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, psi
from sklearn.base import BaseEstimator

from training.clv.mle import as_float, fit_log_params, numerical_hessian


def _loglik_rows(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend m over x repeat purchases."""
    px = p * x
    return cast(
        np.ndarray,
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(v + m * x),
    )  # fmt: skip


@dataclass(frozen=True)
class _Spends:
    """Weighted repeat buyers; x-only terms are computed once per distinct x and the
    terms in ln m are parameter-free sums, so an evaluation costs one log per customer."""

    w: np.ndarray
    wx: np.ndarray
    mx: np.ndarray
    x_u: np.ndarray
    W_x: np.ndarray
    sum_w_log_m: float
    sum_wx_log_m: float

    @classmethod
    def build(cls, x: np.ndarray, m: np.ndarray, w: np.ndarray) -> _Spends:
        x_u, xi = np.unique(x, return_inverse=True)
        log_m = np.log(m)
        return cls(
            w=w,
            wx=w * x,
            mx=m * x,
            x_u=x_u,
            W_x=np.bincount(xi.ravel(), weights=w, minlength=len(x_u)),
            sum_w_log_m=float(w @ log_m),
            sum_wx_log_m=float((w * x) @ log_m),
        )


def _loglik_and_grad(theta: np.ndarray, d: _Spends) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood and its gradient with respect to log-parameters."""
    p, q, v = np.exp(theta)
    x_u, W_x = d.x_u, d.W_x
    W = W_x.sum()
    lvm = np.log(v + d.mx)
    ivm = 1.0 / (v + d.mx)
    w_l, wx_l = d.w @ lvm, d.wx @ lvm
    px = p * x_u
    ll = W_x @ (gammaln(px + q) - gammaln(px) + px * np.log(x_u)) - W * gammaln(q)
    ll += W * q * np.log(v) + p * d.sum_wx_log_m - d.sum_w_log_m - p * wx_l - q * w_l
    g_p = W_x @ (x_u * (psi(px + q) - psi(px) + np.log(x_u))) + d.sum_wx_log_m - wx_l
    g_q = W_x @ (psi(px + q) - psi(q)) + W * np.log(v) - w_l
    g_v = W * q / v - p * (d.wx @ ivm) - q * (d.w @ ivm)
    return float(ll), np.array([g_p * p, g_q * q, g_v * v])


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
        w_all = np.ones(len(x)) if weights is None else as_float("weights", weights)
        if len(w_all) != len(x) or (w_all < 0).any():
            raise ValueError("weights must have one non-negative value per customer")
        w = w_all[usable]
        data = _Spends.build(x[usable], m[usable], w)
        total = float(w.sum())

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = _loglik_and_grad(theta, data)
            return -ll / total, -grad / total

        mean_m = float(np.average(m[usable], weights=w))
        theta, _ = fit_log_params(objective, np.log([1.0, 2.0, mean_m]), self.max_iter, self.tol)
        self.p_, self.q_, self.v_ = (float(v) for v in np.exp(theta))
        self.loglik_ = _loglik_and_grad(theta, data)[0]
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
