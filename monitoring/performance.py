"""Realised performance of served or published scores once their labels have matured (pure)."""

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


# ---- the champions' figures on a matured publish: published scores vs the horizon's labels

CHURN_LABEL = "label_churn"
PROPENSITY_PREFIX, BUY_PREFIX = "propensity_any__", "label_buy__"
# realised name -> the metric the model's training run logged (``training/*/evaluate``)
TRAINING_NAMES = {
    "churn_roc_auc": ("churn", "roc_auc"),
    "churn_pr_auc": ("churn", "pr_auc"),
    "churn_brier": ("churn", "brier"),
    "propensity_mean_roc_auc_any": ("propensity", "mean_roc_auc_any"),
}


def _auc_pair(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """ROC AUC and PR AUC (average precision); NaN when the labels hold one class."""
    from sklearn.metrics import average_precision_score

    if len(np.unique(y)) < 2:
        return math.nan, math.nan
    return float(roc_auc_score(y, p)), float(average_precision_score(y, p))


def matured_figures(
    scores: pd.DataFrame, labels: pd.DataFrame, clv_target: str = "margin"
) -> dict[str, float]:
    """The published ``scores`` (store profiles) against a snapshot's ``labels`` at the
    same as_of: churn AUC, PR AUC and Brier (customers whose churn label is defined);
    per family propensity AUC and actual / expected (observed buy rate over mean
    propensity); CLV MAE and decile error of the published horizon value (the row's
    ``clv_model``: learned or BTYD) against ``future_<clv_target>``, on customers with a
    purchase before as_of (the population the CLV model is judged on at training)."""
    from training.clv.metrics import decile_mape

    _require(scores, ("customer_id", "churn_probability"), "scores")
    _require(labels, ("customer_id", CHURN_LABEL), "labels")
    key = "customer_id"
    joined = scores.assign(**{key: scores[key].astype(str)}).merge(
        labels.assign(**{key: labels[key].astype(str)}), on=key, how="inner", suffixes=("", "_l")
    )
    if joined.empty:
        raise ValueError("no published customer is in the labelled snapshot: check the ids")
    out: dict[str, float] = {"n_customers": float(len(joined))}
    churn = joined[joined[CHURN_LABEL].notna()]
    y = churn[CHURN_LABEL].to_numpy("float64")
    p = churn["churn_probability"].to_numpy("float64")
    out["churn_roc_auc"], out["churn_pr_auc"] = _auc_pair(y, p)
    out["churn_brier"] = float(np.mean((p - y) ** 2)) if len(y) else math.nan
    out["churn_n"] = float(len(y))
    aucs = []
    for column in sorted(c for c in scores.columns if c.startswith(PROPENSITY_PREFIX)):
        slug = column.removeprefix(PROPENSITY_PREFIX)
        if BUY_PREFIX + slug not in joined:
            continue
        rows = joined[joined[BUY_PREFIX + slug].notna()]
        yf, pf = rows[BUY_PREFIX + slug].to_numpy("float64"), rows[column].to_numpy("float64")
        out[f"propensity_roc_auc_any__{slug}"] = auc = _auc_pair(yf, pf)[0]
        expected = float(pf.mean()) if len(pf) else math.nan
        out[f"propensity_actual_vs_expected_any__{slug}"] = (
            float(yf.mean()) / expected if expected else math.nan
        )
        aucs.append(auc)
    known = [a for a in aucs if not math.isnan(a)]
    out["propensity_mean_roc_auc_any"] = float(np.mean(known)) if known else math.nan
    actual = f"future_{clv_target}"
    if {"learned_clv_horizon", actual} <= set(joined.columns):
        value = joined["learned_clv_horizon"].to_numpy("float64")
        if {"clv_model", "btyd_clv_horizon"} <= set(joined.columns):
            btyd = (joined["clv_model"] == "btyd").to_numpy()
            value = np.where(btyd, joined["btyd_clv_horizon"].to_numpy("float64"), value)
        history = joined["btyd_T"].to_numpy("float64") > 0 if "btyd_T" in joined else True
        keep = history & joined[actual].notna().to_numpy() & np.isfinite(value)
        if keep.any():
            a, v = joined[actual].to_numpy("float64")[keep], value[keep]
            out["clv_mae"] = float(np.mean(np.abs(v - a)))
            out["clv_decile_mape"] = decile_mape(a, v)
            out["clv_n"] = float(keep.sum())
    return out


def training_figures(
    runs: Mapping[str, Mapping[str, float]], clv_chosen: str = "learned"
) -> dict[str, float]:
    """The same figures as ``matured_figures`` from the champions' training-run metrics
    (``runs``: model -> metrics); the CLV ones are those of the ``clv_chosen`` model."""
    out = {
        name: float(runs[model][metric])
        for name, (model, metric) in TRAINING_NAMES.items()
        if metric in runs.get(model, {})
    }
    for metric, value in runs.get("propensity", {}).items():
        if metric.startswith("roc_auc_any__"):
            out[f"propensity_{metric}"] = float(value)
    clv = runs.get("clv", {})
    for name in ("mae", "decile_mape"):
        if f"{name}_{clv_chosen}" in clv:
            out[f"clv_{name}"] = float(clv[f"{name}_{clv_chosen}"])
    return out


def churn_auc_drop(realised: Mapping[str, float], training: Mapping[str, float]) -> float | None:
    """Training churn AUC minus realised churn AUC (the policy's performance drop), or None."""
    r, t = realised.get("churn_roc_auc"), training.get("churn_roc_auc")
    if r is None or t is None or math.isnan(r) or math.isnan(t):
        return None
    return float(t) - float(r)
