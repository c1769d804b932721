"""Churn evaluation: ranking, calibration and top-decile figures on labelled customers."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from training.churn.model import ChurnModel
from training.churn.rows import labelled_rows
from training.data.snapshot import Snapshot

MAIN_METRIC = "roc_auc"
GREATER_IS_BETTER = True
FLOORS: dict[str, float] = {"roc_auc": 0.6}
METRIC_NAMES = (
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "lift_top_decile",
    "capture_top_decile",
    "base_rate",
    "n_customers",
)
_EPS = 1e-6


def top_decile_mask(prob: np.ndarray, raw: np.ndarray, share: float = 0.1) -> np.ndarray:
    """The ceil(10%) highest-risk rows by calibrated probability (ties: raw score, then row)."""
    n = len(prob)
    k = max(1, int(np.ceil(share * n)))
    order = np.lexsort((np.arange(n), -raw, -prob))
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def churn_metrics(y: np.ndarray, prob: np.ndarray, raw: np.ndarray) -> dict[str, float]:
    """All metrics from labels, calibrated probabilities and raw scores.

    AUCs are NaN when the labels hold one class only (undefined); the rest always exist.
    """
    y = np.asarray(y, dtype="float64")
    both = 0 < y.sum() < len(y)
    top = top_decile_mask(prob, raw)
    base = float(y.mean())
    top_rate = float(y[top].mean())
    return {
        "roc_auc": float(roc_auc_score(y, prob)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, prob)) if both else float("nan"),
        "brier": float(brier_score_loss(y, prob)),
        "log_loss": float(log_loss(y, np.clip(prob, _EPS, 1 - _EPS), labels=[0.0, 1.0])),
        "lift_top_decile": top_rate / base if base > 0 else float("nan"),
        "capture_top_decile": float(y[top].sum() / y.sum()) if y.sum() > 0 else float("nan"),
        "base_rate": base,
        "n_customers": float(len(y)),
    }


def evaluate(model: ChurnModel, snapshot: Snapshot) -> dict[str, float]:
    """Metrics on the customers of ``snapshot`` whose label (the model's target) is defined.

    Use a later snapshot than the one fitted on (out of time: fit at t0, evaluate at t0+H).
    """
    rows = labelled_rows(snapshot, model.config.target)
    if len(rows) == 0:
        raise ValueError(f"no customer in the snapshot has a defined {model.label_column}")
    raw = model.raw_score(rows)
    prob = model.predict_proba(rows)
    return churn_metrics(rows[model.label_column].to_numpy(), prob, raw)
