"""Prospects: look-alike score, expected first-year value and first offer from attributes."""

from training.prospect.cohort import build_cohorts, build_tables
from training.prospect.metrics import (
    FLOORS,
    GREATER_IS_BETTER,
    MAIN_METRIC,
    evaluate,
    truth_metrics,
)
from training.prospect.model import OUTPUTS, ProspectConfig, ProspectModel, fit
from training.prospect.report import write_artifacts

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "OUTPUTS",
    "ProspectConfig",
    "ProspectModel",
    "build_cohorts",
    "build_tables",
    "evaluate",
    "fit",
    "truth_metrics",
    "write_artifacts",
]
