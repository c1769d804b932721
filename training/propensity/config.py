"""Propensity model settings: booster parameters and the minimum label counts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PropensityConfig:
    """Booster settings and the minimum label counts below which a model is skipped."""

    max_depth: int = 4
    learning_rate: float = 0.1
    n_estimators: int = 300
    early_stopping_rounds: int = 20
    min_child_weight: float = 1.0
    subsample: float = 0.9
    colsample_bytree: float = 0.8
    valid_fraction: float = 0.2
    min_positives: int = 10
    min_negatives: int = 10
    # 1, not 2: many small boosters; on a busy 2-core box OpenMP with 2 threads ran 5-10x slower
    n_jobs: int = 1
    seed: int = 0
