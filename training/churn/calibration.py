"""Isotonic calibration stored as two threshold arrays and applied with ``np.interp``."""

from __future__ import annotations

from typing import cast

import numpy as np
from sklearn.isotonic import IsotonicRegression


def fit_isotonic(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds (x, y) of a non-decreasing map from raw score to probability.

    Equivalent to sklearn's ``IsotonicRegression(out_of_bounds="clip")``: scores outside
    the calibration range take the end values, as ``np.interp`` does.
    """
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(np.asarray(scores, dtype="float64"), np.asarray(labels, dtype="float64"))
    return iso.X_thresholds_.astype("float64"), iso.y_thresholds_.astype("float64")


def apply_isotonic(scores: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Calibrated probabilities: piecewise-linear interpolation between the thresholds."""
    return cast(np.ndarray, np.interp(np.asarray(scores, dtype="float64"), x, y))
