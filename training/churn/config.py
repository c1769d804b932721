"""Churn model settings: target, splits and booster parameters."""

from __future__ import annotations

from dataclasses import dataclass

from training.churn.rows import TARGETS


@dataclass(frozen=True)
class ChurnConfig:
    """``target``: "churn" (no purchase in the horizon) or "partial_churn" (still buying,
    spend below half of the previous window's: ``training.data.labels``)."""

    target: str = "churn"
    valid_fraction: float = 0.15
    calib_fraction: float = 0.15
    n_estimators: int = 300
    learning_rate: float = 0.05
    max_depth: int = 4
    min_child_weight: float = 5.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 30
    nthread: int = 1  # 2 threads on a busy 2-core box measured 16x slower (OpenMP spin)
    seed: int = 0
    reason_top: int = 3
    # BTYD outputs (P(alive), P(no purchase), expected purchases) as features, and the
    # BTYD churn probability as the booster's base margin (see training/churn/btyd.py)
    btyd_features: bool = True
    btyd_offset: bool = True
    # share of the booster probability blended into the isotonic map, so calibration
    # keeps the booster's ranking (no ties; training/churn/calibration.py); bundles saved
    # before it existed load with 0
    calibration_tie_break: float = 0.001

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {sorted(TARGETS)}, got {self.target!r}")
        if self.valid_fraction <= 0 or self.calib_fraction <= 0:
            raise ValueError("valid_fraction and calib_fraction must be positive")
        if not 0.0 <= self.calibration_tie_break < 0.5:
            raise ValueError("calibration_tie_break must be in [0, 0.5)")
        if self.valid_fraction + self.calib_fraction >= 0.8:
            raise ValueError("valid_fraction + calib_fraction must leave 20% for training")
