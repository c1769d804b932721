"""Offer uplift per product family (and any purchase, for retention) from randomized
control groups: an XGBoost X-learner per arm, judged by Qini coefficient and AUUC."""

from training.uplift.config import ANY_ARM, UpliftConfig
from training.uplift.fit import fit
from training.uplift.metrics import (
    FLOORS,
    GREATER_IS_BETTER,
    MAIN_METRIC,
    auuc,
    evaluate,
    qini_coefficient,
    qini_curve,
)
from training.uplift.model import UpliftModel, output_column
from training.uplift.report import write_artifacts
from training.uplift.sources import build_tables, tables_from_responses
from training.uplift.table import first_rows, split_table, training_table

__all__ = [
    "ANY_ARM",
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "UpliftConfig",
    "UpliftModel",
    "auuc",
    "build_tables",
    "evaluate",
    "first_rows",
    "fit",
    "output_column",
    "qini_coefficient",
    "qini_curve",
    "split_table",
    "tables_from_responses",
    "training_table",
    "write_artifacts",
]
