"""Potential value and share of wallet: an upper-quantile model of yearly spend."""

from training.potential.metrics import (
    FLOORS,
    GREATER_IS_BETTER,
    MAIN_METRIC,
    TRUTH_TARGET,
    evaluate,
    truth_metrics,
)
from training.potential.model import OUTPUTS, PotentialConfig, PotentialModel, fit
from training.potential.report import write_artifacts

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "OUTPUTS",
    "TRUTH_TARGET",
    "PotentialConfig",
    "PotentialModel",
    "evaluate",
    "fit",
    "truth_metrics",
    "write_artifacts",
]
