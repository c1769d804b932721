"""Segment membership probabilities: multinomial logistic regression on the scaled features.

Stored as ``coef`` (segments × features) and ``intercept`` arrays, so numpy alone
reproduces it: ``softmax(z @ coef.T + intercept)`` with ``z`` the scaled features.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from sklearn.linear_model import LogisticRegression


def fit_membership(
    z: np.ndarray, labels: np.ndarray, n_segments: int, c: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and intercepts of a softmax over all ``n_segments`` segments."""
    present = np.unique(labels)
    if len(present) < 2:
        raise ValueError("membership model needs at least two segments with members")
    lr = LogisticRegression(C=c, max_iter=max_iter).fit(z, labels)
    coef, intercept = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(w·z + b) == softmax([-w/2, w/2]·z + [-b/2, b/2])
        coef = np.vstack([-coef / 2.0, coef / 2.0])
        intercept = np.array([-intercept[0] / 2.0, intercept[0] / 2.0])
    full_coef = np.zeros((n_segments, z.shape[1]))
    full_int = np.full(n_segments, -1e3)  # a segment with no members gets ~0 probability
    full_coef[lr.classes_] = coef
    full_int[lr.classes_] = intercept
    return full_coef, full_int


def softmax_proba(z: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Rows of probabilities summing to 1."""
    logits = z @ coef.T + intercept
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return cast(np.ndarray, e / e.sum(axis=1, keepdims=True))
