"""Backtest metrics as long rows (task, metric, method, value), and the tables behind the plots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from training.clv.metrics import value_metrics

Row = dict[str, object]
CALIBRATION_BINS = 10
FREQUENCY_GROUPS = 7  # calibration repeat purchases 0..6 and 7+, as in Fader, Hardie & Lee


def rows(task: str, method: str, metrics: Mapping[str, float]) -> list[Row]:
    return [
        {"task": task, "metric": k, "method": method, "value": float(v)}
        for k, v in metrics.items()
        if v is not None and math.isfinite(float(v))
    ]


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error over equal-count bins of the predicted probability."""
    table = calibration_table(y, p, bins)
    return float(np.sum(table["n"] * np.abs(table["mean_predicted"] - table["observed"])) / len(y))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Mean predicted probability and observed rate per equal-count bin of the prediction."""
    order = np.argsort(p, kind="stable")
    groups = np.empty(len(p), dtype=np.int64)
    groups[order] = np.arange(len(p)) * bins // max(len(p), 1)
    frame = pd.DataFrame({"bin": groups + 1, "p": p, "y": y})
    return (
        frame.groupby("bin")
        .agg(n=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean"))
        .reset_index()
    )


def churn_scores(y: np.ndarray, score: np.ndarray, probability: bool) -> dict[str, float]:
    """ROC and PR AUC of any score; Brier, calibration error and mean for probabilities."""
    out = {"roc_auc": math.nan, "pr_auc": math.nan}
    if 0 < y.sum() < len(y):
        out = {
            "roc_auc": float(roc_auc_score(y, score)),
            "pr_auc": float(average_precision_score(y, score)),
        }
    if probability:
        out["brier"] = float(brier_score_loss(y, np.clip(score, 0.0, 1.0)))
        out["calibration_error"] = calibration_error(y, score)
        out["mean_probability"] = float(np.mean(score))
    return out


def purchase_scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The predicted total, its error relative to the actual total, the per-customer MAE."""
    total = float(actual.sum())
    return {
        "total": float(predicted.sum()),
        "total_error": abs(float(predicted.sum()) - total) / max(total, 1e-9),
        "mae": float(np.mean(np.abs(predicted - actual))),
    }


def frequency_groups(frequency: np.ndarray) -> np.ndarray:
    """0..6 and 7 for seven or more calibration repeat purchases."""
    return cast(np.ndarray, np.minimum(frequency, FREQUENCY_GROUPS).astype(np.int64))


def by_frequency(
    frequency: np.ndarray, actual: np.ndarray, predictions: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """The paper's conditional expectations: mean holdout purchases per calibration repeat
    count (7 = 7+), actual and predicted by each method."""
    frame = pd.DataFrame({"repeat_purchases": frequency_groups(frequency), "actual": actual})
    for name, values in predictions.items():
        frame[name] = values
    table = frame.groupby("repeat_purchases").mean()
    table.insert(0, "n", frame.groupby("repeat_purchases").size())
    return table.reset_index()


def clv_scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, normalized Gini, decile MAPE, Spearman and aggregate error of a value forecast."""
    m = value_metrics(actual, predicted, "x")
    return {k.removesuffix("_x"): v for k, v in m.items()}


def propensity_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, positive count and expected count (Σ p), and their ratio (1 is calibrated)."""
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    out = {"actual": float(y.sum()), "expected": float(p.sum()), "n": float(len(y))}
    out["expected_over_actual"] = out["expected"] / out["actual"] if out["actual"] else math.nan
    out["roc_auc"] = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else math.nan
    return out


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Rolling origin: mean, standard deviation, min, max and count per task/metric/method."""
    grouped = table.groupby(["task", "metric", "method"], sort=False)["value"]
    out = grouped.agg(["mean", "std", "min", "max", "count"]).reset_index()
    return out.rename(columns={"count": "n_cutoffs"})
