"""Shared fitting helpers: input checks, collapsing identical histories, log-space MLE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize

ObjectiveGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


def as_float(name: str, values: ArrayLike) -> np.ndarray:
    """A 1-d float array of finite values, or a ValueError naming the argument."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} value(s) are NaN or infinite")
    return arr


def check_rft(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (frequency, recency, T) arrays with the BTYD invariants."""
    x, t_x, t = as_float("frequency", frequency), as_float("recency", recency), as_float("T", T)
    if not (len(x) == len(t_x) == len(t)):
        raise ValueError("frequency, recency and T must have the same length")
    if len(x) == 0:
        raise ValueError("no customers: frequency is empty")
    if (x < 0).any() or (t_x < 0).any():
        raise ValueError("frequency and recency must be non-negative")
    if (t_x > t + 1e-9).any():
        raise ValueError(f"recency exceeds T for {int((t_x > t + 1e-9).sum())} customer(s)")
    if ((x == 0) & (t_x != 0)).any():
        raise ValueError("customers with frequency 0 must have recency 0")
    if (t <= 0).any():
        raise ValueError("T must be positive")
    return x, t_x, t


def collapse(
    columns: tuple[np.ndarray, ...], weights: ArrayLike | None
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Unique rows of the stacked columns and their total weight (count if unweighted)."""
    stacked = np.column_stack(columns)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if weights is None:
        w = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    else:
        wt = as_float("weights", weights)
        if len(wt) != len(stacked):
            raise ValueError("weights must have one value per customer")
        if (wt < 0).any():
            raise ValueError("weights must be non-negative")
        w = np.bincount(inverse, weights=wt, minlength=len(uniq)).astype(np.float64)
    keep = w > 0
    return tuple(uniq[keep, j] for j in range(uniq.shape[1])), w[keep]


def fit_log_params(
    neg_loglik: ObjectiveGrad, x0: np.ndarray, max_iter: int, tol: float
) -> np.ndarray:
    """Minimise a per-unit-weight negative log-likelihood over log-parameters (BFGS)."""
    res = minimize(
        neg_loglik, x0, jac=True, method="BFGS", options={"maxiter": max_iter, "gtol": tol}
    )
    if not np.all(np.isfinite(res.x)):
        raise RuntimeError(f"maximum likelihood did not converge: {res.message}")
    return np.asarray(res.x)


def numerical_hessian(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian from an analytical gradient (symmetrised)."""
    k = len(x)
    h = np.empty((k, k))
    for i in range(k):
        step = 1e-5 * max(1.0, abs(x[i]))
        e = np.zeros(k)
        e[i] = step
        h[i] = (grad(x + e) - grad(x - e)) / (2 * step)
    return (h + h.T) / 2
