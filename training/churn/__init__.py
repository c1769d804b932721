"""Churn (retention) model: calibrated XGBoost risk with per-customer reason codes."""

from training.churn.config import ChurnConfig
from training.churn.fit import fit
from training.churn.metrics import FLOORS, GREATER_IS_BETTER, MAIN_METRIC, METRIC_NAMES, evaluate
from training.churn.model import ChurnModel, reasons
from training.churn.report import write_artifacts
from training.churn.rows import MIN_CUSTOMERS, TARGETS

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "METRIC_NAMES",
    "MIN_CUSTOMERS",
    "TARGETS",
    "ChurnConfig",
    "ChurnModel",
    "evaluate",
    "fit",
    "reasons",
    "write_artifacts",
]
