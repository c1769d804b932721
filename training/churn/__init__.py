"""Churn (retention) model: calibrated XGBoost risk with per-customer reason codes."""

from training.churn.metrics import FLOORS, GREATER_IS_BETTER, MAIN_METRIC, METRIC_NAMES, evaluate
from training.churn.model import TARGETS, ChurnConfig, ChurnModel, fit, reasons
from training.churn.report import write_artifacts

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "METRIC_NAMES",
    "TARGETS",
    "ChurnConfig",
    "ChurnModel",
    "evaluate",
    "fit",
    "reasons",
    "write_artifacts",
]
