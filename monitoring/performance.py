"""Realised performance of served predictions once their labels have matured (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

PREDICTION_COLUMNS = ("customer_id", "churn_probability", "clv_12m")
OUTCOME_COLUMNS = ("customer_id", "label_churn", "future_spend")
# training metric names (registry conventions) -> the names used here
TRAINING_ALIASES = {"roc_auc": "auc", "mae": "clv_mae"}
HIGHER_IS_BETTER = {"auc"}


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: required column(s) {', '.join(missing)} missing")


def _latest_per_customer(predictions: pd.DataFrame) -> pd.DataFrame:
    """One prediction per customer: the last served (by ``ts`` when present)."""
    frame = predictions.sort_values("ts", kind="stable") if "ts" in predictions else predictions
    return frame.drop_duplicates("customer_id", keep="last")


def realised_performance(
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    training: Mapping[str, float] | None = None,
) -> dict[str, float | int | dict[str, float]]:
    """AUC, calibration error and CLV errors of ``predictions`` against ``outcomes``.

    ``calibration_error`` is mean predicted churn minus the observed churn rate;
    ``clv_aggregate_error`` is (sum predicted - sum actual) / sum actual. ``training``
    (e.g. ``{"roc_auc": 0.81, "mae": 40.0}``) gives ``deltas`` (realised minus training)
    and ``performance_drop`` (training AUC minus realised AUC) for the retraining policy.
    Customers are matched on customer_id; the repeat predictions of one customer count
    once (the latest). ValueError when a column is missing or nothing matches.
    """
    _require(predictions, PREDICTION_COLUMNS, "predictions")
    _require(outcomes, OUTCOME_COLUMNS, "outcomes")
    preds = _latest_per_customer(predictions)[list(PREDICTION_COLUMNS)]
    truth = outcomes[list(OUTCOME_COLUMNS)].drop_duplicates("customer_id", keep="last")
    key = "customer_id"
    joined = preds.assign(**{key: preds[key].astype(str)}).merge(
        truth.assign(**{key: truth[key].astype(str)}), on=key, how="inner"
    )
    if joined.empty:
        raise ValueError("no served customer has a matured outcome: check the windows and ids")
    p = joined["churn_probability"].astype(float).to_numpy()
    y = joined["label_churn"].astype(float).to_numpy()
    clv = joined["clv_12m"].astype(float).to_numpy()
    spend = joined["future_spend"].astype(float).to_numpy()
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else math.nan
    actual_total = float(spend.sum())
    result: dict[str, float | int | dict[str, float]] = {
        "n": len(joined),
        "n_unmatched_predictions": len(preds) - len(joined),
        "auc": auc,
        "churn_rate": float(y.mean()),
        "mean_churn_probability": float(p.mean()),
        "calibration_error": float(p.mean() - y.mean()),
        "clv_mae": float(np.abs(clv - spend).mean()),
        "clv_aggregate_error": (
            float((clv.sum() - actual_total) / actual_total) if actual_total else math.nan
        ),
    }
    if training:
        reference = {TRAINING_ALIASES.get(k, k): float(v) for k, v in training.items()}
        deltas = {
            k: float(value) - v
            for k, v in reference.items()
            if isinstance(value := result.get(k), int | float)
        }
        result["deltas"] = deltas
        if "auc" in deltas:
            result["performance_drop"] = -deltas["auc"]
    return result
