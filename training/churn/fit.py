"""Fit the churn model: train / early-stopping / calibration splits, the booster and its reasons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xgboost as xgb
from sklearn.model_selection import train_test_split

from training.churn.calibration import fit_isotonic
from training.churn.config import ChurnConfig
from training.churn.encoding import Encoding, design_matrix, dmatrix, fit_encoding
from training.churn.model import ChurnModel
from training.churn.reasons import ReasonTable
from training.churn.rows import TARGETS, check_labels, labelled_rows
from training.churn.templates import DERIVED, TEMPLATES, readable_labels
from training.data.snapshot import Snapshot


def _medians(enc: Encoding, x: np.ndarray) -> dict[str, float]:
    """Training medians of the numeric features: the high/low line of generic reasons."""
    out: dict[str, float] = {}
    for j, (name, kind) in enumerate(zip(enc.feature_names, enc.feature_types, strict=True)):
        col = x[:, j][np.isfinite(x[:, j])]
        if kind == "q":
            out[name] = float(np.median(col)) if len(col) else np.nan
    return out


def reason_table(
    enc: Encoding, families: Sequence[str], channels: Sequence[str], medians: dict[str, float]
) -> ReasonTable:
    """The words for the drivers of a model with encoding ``enc`` (``medians``: the
    training medians of its numeric features)."""
    return ReasonTable(
        labels=readable_labels(list(enc.feature_names), tuple(families), tuple(channels)),
        medians=medians,
        templates={k: v for k, v in TEMPLATES.items() if k in enc.feature_names},
        derived=dict(DERIVED),
    )


def booster_params(config: ChurnConfig, enc: Encoding) -> dict[str, object]:
    """``xgb.train`` parameters of the churn booster (the Spark fit converts the same)."""
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "learning_rate": config.learning_rate,
        "max_depth": config.max_depth,
        "min_child_weight": config.min_child_weight,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "reg_lambda": config.reg_lambda,
        "monotone_constraints": "(" + ",".join(map(str, enc.monotone_constraints())) + ")",
        "max_cat_to_onehot": 1,
        "nthread": config.nthread,
        "seed": config.seed,
    }


def fit(snapshot: Snapshot, config: ChurnConfig | None = None) -> ChurnModel:
    """Train on the labelled customers: train / early-stopping / calibration splits."""
    config = ChurnConfig() if config is None else config
    rows = labelled_rows(snapshot, config.target)
    column = TARGETS[config.target]
    y = rows[column].to_numpy(dtype="float64")
    check_labels(y, column)
    enc = fit_encoding(rows, snapshot.feature_columns)
    x = design_matrix(enc, rows)
    held = config.valid_fraction + config.calib_fraction
    idx = np.arange(len(rows))
    tr, rest = train_test_split(idx, test_size=held, stratify=y, random_state=config.seed)
    va, ca = train_test_split(
        rest, test_size=config.calib_fraction / held, stratify=y[rest], random_state=config.seed
    )
    params = booster_params(config, enc)
    dtrain, dvalid = dmatrix(enc, x[tr], y[tr]), dmatrix(enc, x[va], y[va])
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=config.n_estimators,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )
    best = booster.best_iteration + 1
    booster = booster[:best]
    calib_x, calib_y = fit_isotonic(booster.predict(dmatrix(enc, x[ca])), y[ca])
    medians = _medians(enc, x[tr])
    table = reason_table(enc, snapshot.families, snapshot.channels, medians)
    info = {
        "as_of": snapshot.as_of.isoformat(),
        "horizon_days": snapshot.horizon_days,
        "families": list(snapshot.families),
        "channels": list(snapshot.channels),
        "n_train": len(tr),
        "n_valid": len(va),
        "n_calib": len(ca),
        "base_rate": float(y.mean()),
        "n_trees": best,
    }
    return ChurnModel(config, enc, booster, calib_x, calib_y, table, info)
