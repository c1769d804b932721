"""Value tiers, RFM scores and behavioural segments with membership probabilities."""

from training.segments.config import LOW_ACTIVITY, TIERS, SegmentsConfig
from training.segments.fit import fit
from training.segments.metrics import (
    FLOORS,
    GREATER_IS_BETTER,
    MAIN_METRIC,
    archetype_ari,
    evaluate,
    stability_ari,
)
from training.segments.model import SegmentsModel
from training.segments.report import write_artifacts

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "LOW_ACTIVITY",
    "MAIN_METRIC",
    "TIERS",
    "SegmentsConfig",
    "SegmentsModel",
    "archetype_ari",
    "evaluate",
    "fit",
    "stability_ari",
    "write_artifacts",
]
