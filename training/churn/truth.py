"""cintel-churn against the simulator's truth, for ``cintel train`` on simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from training.backtest.truth import TRUTH_COLUMNS, oracle_at
from training.churn.model import ChurnModel
from training.churn.rows import labelled_rows
from training.data.snapshot import Snapshot


def truth_metrics(
    model: ChurnModel, snapshot: Snapshot, ground_truth: pd.DataFrame
) -> dict[str, float]:
    """The oracle's ROC AUC (it knows who has dropped out and every buying rate) on the
    customers ``evaluate`` scores, and the model's AUC over it (target 0.95; the backtest
    adds ``known_rates``, the ceiling of any model of the history). Empty for a target
    other than churn or ground truth without the oracle's columns."""
    if model.config.target != "churn" or not set(TRUTH_COLUMNS) <= set(ground_truth.columns):
        return {}
    rows = labelled_rows(snapshot, "churn")
    y = rows["label_churn"].to_numpy(dtype="float64")
    oracle = oracle_at(ground_truth, rows["customer_id"], snapshot.as_of, snapshot.horizon_days)
    ok = np.isfinite(oracle)
    if not 0 < y[ok].sum() < ok.sum():
        return {}
    auc = roc_auc_score(y[ok], model.predict_proba(rows)[ok])
    oracle_auc = roc_auc_score(y[ok], oracle[ok])
    return {"oracle_roc_auc": float(oracle_auc), "roc_auc_over_oracle": float(auc / oracle_auc)}
