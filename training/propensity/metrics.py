"""Ranking metrics of the propensity model on a labelled (later) snapshot."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from training.data.snapshot import Snapshot
from training.propensity.model import KINDS, PropensityModel, label_column, output_column

MAIN_METRIC = "mean_roc_auc_any"
GREATER_IS_BETTER = True
FLOORS: dict[str, float] = {MAIN_METRIC: 0.6}

TOP_FRACTION = 0.1


def top_lift(y: np.ndarray, score: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """Positive rate among the top ``fraction`` by score over the overall positive rate.

    Ties at the cut are broken by a stable sort on the negated score (input order), so
    the figure is deterministic; NaN when there is no positive.
    """
    base = float(np.mean(y)) if len(y) else 0.0
    if base == 0.0:
        return math.nan
    k = max(1, math.ceil(fraction * len(y)))
    top = np.argsort(-score, kind="stable")[:k]
    return float(np.mean(y[top]) / base)


def _scores(
    y: np.ndarray, p: np.ndarray, min_positives: int = 1, min_negatives: int = 1
) -> tuple[float, float, float]:
    """AUC, average precision and lift; NaN when either class has fewer rows than its
    minimum (an AUC on one positive is 0 or 1 and says nothing)."""
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    positives = int((y > 0).sum())
    if positives < max(1, min_positives) or len(y) - positives < max(1, min_negatives):
        return math.nan, math.nan, math.nan
    return (
        float(roc_auc_score(y, p)),
        float(average_precision_score(y, p)),
        top_lift(y, p),
    )


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def evaluate(model: PropensityModel, snapshot: Snapshot) -> dict[str, float]:
    """Per family and kind ``roc_auc``, ``pr_auc`` (average precision) and top-decile lift,
    plus means over the families where they are defined.

    The key set depends only on the model's families, so runs compare side by side; a value
    is NaN where it is undefined or not worth a number: a skipped model, or fewer positive
    or negative labels than the model's ``min_positives``/``min_negatives`` (such a family
    is left out of the means; ``n_judged_<kind>`` counts the families that are in them).
    """
    if not snapshot.labelled:
        raise ValueError("evaluation needs a labelled snapshot (labels of the horizon after as_of)")
    pred = model.predict_frame(snapshot.frame)
    metrics: dict[str, float] = {}
    for kind in KINDS:
        per_family: dict[str, list[float]] = {"roc_auc": [], "pr_auc": [], "lift_top_decile": []}
        for s in model.slugs:
            label = label_column(kind, s)
            if label not in snapshot.frame:
                raise ValueError(f"label column {label} missing from the evaluation snapshot")
            y = snapshot.frame[label].to_numpy(dtype="float64")
            p = pred[output_column(kind, s)].to_numpy(dtype="float64")
            roc, pr, lift = _scores(y, p, model.config.min_positives, model.config.min_negatives)
            for name, value in (("roc_auc", roc), ("pr_auc", pr), ("lift_top_decile", lift)):
                metrics[f"{name}_{kind}__{s}"] = value
                per_family[name].append(value)
            known = ~np.isnan(y)
            rate = float(y[known].mean()) if known.any() else math.nan
            metrics[f"positive_rate_{kind}__{s}"] = rate
        for name, values in per_family.items():
            metrics[f"mean_{name}_{kind}"] = _mean(values)
        metrics[f"n_judged_{kind}"] = float(sum(math.isfinite(v) for v in per_family["roc_auc"]))
    metrics["n_models"] = float(len(model.boosters_))
    metrics["n_skipped"] = float(len(model.skipped_))
    return metrics
