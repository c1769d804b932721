"""Fit the churn model: train / early-stopping / calibration splits, the booster and its reasons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import train_test_split

from training.churn.btyd import BTYD_FEATURES, btyd_features, fit_churn_btyd, logit_offset
from training.churn.calibration import fit_isotonic
from training.churn.config import ChurnConfig
from training.churn.encoding import Encoding, design_matrix, dmatrix, fit_encoding
from training.churn.model import ChurnModel
from training.churn.reasons import ReasonTable
from training.churn.rows import TARGETS, check_labels, labelled_rows
from training.churn.templates import DERIVED, TEMPLATES, readable_labels
from training.clv.btyd_part import BTYD_COLUMNS, BtydParams
from training.data.snapshot import Snapshot

MIN_REPEAT_BUYERS = 20  # fewer repeat buyers: no BTYD features (as cintel-clv's minimum)


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


def usable_btyd(snapshot: Snapshot) -> BtydParams | None:
    """The BTYD fit behind the btyd_* features, or None when the snapshot has no btyd_*
    columns or too few buyers for the fit (the model then learns without them)."""
    if not set(BTYD_COLUMNS).issubset(snapshot.frame.columns):
        return None
    latest = snapshot.latest
    if int((latest["btyd_frequency"] > 0).sum()) < MIN_REPEAT_BUYERS:
        return None
    try:
        return fit_churn_btyd(latest)
    except (ValueError, FloatingPointError):
        return None


def _splits(
    rows: pd.DataFrame, y: np.ndarray, config: ChurnConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / early-stopping / calibration row positions, stratified by the label. With
    stacked origins (a customer on several rows) the split is by customer instead, so no
    customer is on both sides of early stopping or calibration."""
    held = config.valid_fraction + config.calib_fraction
    ids = rows["customer_id"].to_numpy()
    if len(pd.unique(ids)) < len(ids):
        unique = np.sort(pd.unique(ids))
        rng = np.random.default_rng(config.seed)
        u = pd.Series(rng.random(len(unique)), index=unique).reindex(ids).to_numpy()
        va_cut = 1.0 - held
        idx = np.arange(len(rows))
        tr = idx[u < va_cut]
        va = idx[(u >= va_cut) & (u < va_cut + config.valid_fraction)]
        return tr, va, idx[u >= va_cut + config.valid_fraction]
    idx = np.arange(len(rows))
    tr, rest = train_test_split(idx, test_size=held, stratify=y, random_state=config.seed)
    va, ca = train_test_split(
        rest, test_size=config.calib_fraction / held, stratify=y[rest], random_state=config.seed
    )
    return tr, va, ca


def fit(snapshot: Snapshot, config: ChurnConfig | None = None) -> ChurnModel:
    """Train on the labelled customers: train / early-stopping / calibration splits.

    With ``config.btyd_features`` a BTYD purchase model is fitted on the snapshot's latest
    origin (``Snapshot.latest``) and its outputs join the features (and its churn
    probability the base margin, with ``btyd_offset``)."""
    config = ChurnConfig() if config is None else config
    rows = labelled_rows(snapshot, config.target)
    column = TARGETS[config.target]
    y = rows[column].to_numpy(dtype="float64")
    check_labels(y, column)
    columns = list(snapshot.feature_columns)
    btyd = usable_btyd(snapshot) if config.btyd_features else None
    if btyd is not None:
        rows = rows.assign(**btyd_features(btyd, rows, snapshot.horizon_days))
        columns += list(BTYD_FEATURES)
    enc = fit_encoding(rows, columns)
    x = design_matrix(enc, rows)
    tr, va, ca = _splits(rows, y, config)
    base_rate = float(y[tr].mean())
    offset = None
    if btyd is not None and config.btyd_offset:
        offset = logit_offset(rows["btyd_p_no_purchase"].to_numpy(dtype="float64"), base_rate)

    def matrix(part: np.ndarray, label: np.ndarray | None = None) -> xgb.DMatrix:
        dm = dmatrix(enc, x[part], None if label is None else label[part])
        if offset is not None:
            dm.set_base_margin(offset[part])
        return dm

    params = booster_params(config, enc)
    dtrain, dvalid = matrix(tr, y), matrix(va, y)
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
    calib_x, calib_y = fit_isotonic(booster.predict(matrix(ca)), y[ca])
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
        "n_origins": snapshot.n_origins,
        "btyd_alive_model": None if btyd is None else btyd.alive_model,
    }
    return ChurnModel(
        config, enc, booster, calib_x, calib_y, table, info,
        btyd=btyd, btyd_days=snapshot.horizon_days, offset_fallback=base_rate,
    )  # fmt: skip
