"""Fit cintel-clv: checks, the BTYD fit, the two Tweedie boosters and the model choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xgboost as xgb

from training.churn.encoding import Encoding, design_matrix, dmatrix, fit_encoding
from training.clv.btyd_part import (
    DERIVED_FEATURES,
    BtydParams,
    btyd_frame,
    derived_features,
    fit_btyd,
    has_history,
    log_offset,
)
from training.clv.config import ClvConfig
from training.clv.metrics import normalized_gini
from training.clv.model import ClvModel, blend
from training.clv.outputs import CLV_MONTHS
from training.clv.rates import RATE_FEATURES, rate_features
from training.data.snapshot import Snapshot

if TYPE_CHECKING:
    from training.spark.snapshot import SparkSnapshot

MIN_CUSTOMERS = 200  # labelled customers with at least one purchase before as_of
MIN_REPEAT_BUYERS = 20  # for Gamma-Gamma


def target_column(labelled: bool, columns: list[str], target: str) -> str:
    """``future_<target>``, or a ValueError when the snapshot has no such label."""
    column = f"future_{target}"
    if not labelled or column not in columns:
        raise ValueError(
            f"cintel-clv needs a labelled snapshot with {column}: build it with a horizon the "
            "data covers (require_labels=True)"
        )
    return column


def check_rows(n_rows: int, n_repeat: int, any_positive: bool, column: str) -> None:
    """Enough labelled buyers, repeat buyers and a positive target, or a ValueError."""
    if n_rows < MIN_CUSTOMERS:
        raise ValueError(
            f"cintel-clv needs at least {MIN_CUSTOMERS} customers with a purchase before "
            f"as_of and a known {column}; the snapshot has {n_rows}"
        )
    if n_repeat < MIN_REPEAT_BUYERS:
        raise ValueError(
            f"cintel-clv needs at least {MIN_REPEAT_BUYERS} repeat buyers for Gamma-Gamma; "
            f"the snapshot has {n_repeat}"
        )
    if not any_positive:
        raise ValueError(f"no customer has a positive {column}: nothing to learn")


def training_rows(snapshot: Snapshot, target: str) -> pd.DataFrame:
    """Labelled customers with a purchase history, or a ValueError saying what is missing."""
    frame = snapshot.frame
    column = target_column(snapshot.labelled, list(frame.columns), target)
    rows = frame.loc[has_history(frame) & frame[column].notna().to_numpy()]
    repeat = int(((rows["btyd_frequency"] > 0) & (rows["btyd_monetary"] > 0)).sum())
    check_rows(len(rows), repeat, bool((rows[column] > 0).any()), column)
    return rows.reset_index(drop=True)


def training_rows_of(frame: pd.DataFrame, config: ClvConfig) -> pd.DataFrame:
    """The labelled customers with a history among ``frame``'s rows."""
    column = f"future_{config.target}"
    return frame.loc[has_history(frame) & frame[column].notna().to_numpy()]


def offset_bounds(mean_positive: float) -> dict[str, float]:
    """The positive booster's offset floor and default from the mean positive target."""
    return {
        "offset_floor": max(0.01 * mean_positive, 1e-6),
        "offset_default": max(mean_positive, 1e-6),
    }


def booster_params(config: ClvConfig, depth: int) -> dict[str, object]:
    return {
        "objective": "reg:tweedie",
        "tweedie_variance_power": config.tweedie_variance_power,
        "eval_metric": f"tweedie-nloglik@{config.tweedie_variance_power}",
        "tree_method": "hist",
        "learning_rate": config.learning_rate,
        "max_depth": depth,
        "min_child_weight": config.min_child_weight,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "max_cat_to_onehot": 1,
        "nthread": config.nthread,
        "seed": config.seed,
    }


def _booster(
    params: dict, train: xgb.DMatrix, valid: xgb.DMatrix, rounds: int, patience: int
) -> xgb.Booster:
    booster = xgb.train(
        params, train, num_boost_round=rounds, evals=[(valid, "valid")],
        early_stopping_rounds=patience, verbose_eval=False,
    )  # fmt: skip
    return booster[: booster.best_iteration + 1]


def fallback_values(btyd: pd.DataFrame) -> dict[str, float]:
    """Population median time profile and interval width, for rows without a profile."""
    out = {f"shape_{k}m": float(np.nanmedian(btyd[f"shape_{k}m"])) for k in CLV_MONTHS}
    b12 = btyd["btyd_clv_12m"].to_numpy()
    pos = b12 > 0
    for q in ("p10", "p90"):
        ratio = btyd[f"btyd_clv_12m_{q}"].to_numpy()[pos] / b12[pos]
        out[f"{q}_ratio"] = float(np.median(ratio)) if pos.any() else (0.0 if q == "p10" else 2.0)
    return out


def fit_parts(snapshot: Snapshot, config: ClvConfig) -> dict[str, object]:
    """Everything ClvModel holds besides the config (see model.py for the design)."""
    rows = training_rows(snapshot, config.target)
    y = rows[f"future_{config.target}"].to_numpy(dtype="float64")
    # BTYD on the latest origin only (stacked origins repeat customers at earlier dates)
    latest = rows if snapshot.n_latest is None else training_rows_of(snapshot.latest, config)
    params = fit_btyd(latest, config.target, config.alive_model)
    btyd = btyd_frame(
        params, rows, snapshot.horizon_days, config.monthly_discount, config.n_draws, config.seed
    )
    with_derived = rows.assign(**derived_features(btyd))
    columns = list(snapshot.feature_columns) + list(DERIVED_FEATURES)
    if config.rate_features:
        rates = rate_features(rows, config.target, snapshot.horizon_days)
        with_derived = with_derived.assign(**rates)
        columns += list(RATE_FEATURES)
    enc = fit_encoding(with_derived, columns)
    x = design_matrix(enc, with_derived)
    rng = np.random.default_rng(config.seed)
    is_valid = rng.random(len(rows)) < config.valid_fraction
    tr, va = np.flatnonzero(~is_valid), np.flatnonzero(is_valid)
    patience = config.early_stopping_rounds

    fallback = fallback_values(btyd)
    ypos = np.maximum(y, 0.0)
    fallback.update(offset_bounds(float(ypos.mean())))
    offset = None
    if config.btyd_offset:
        offset = log_offset(
            btyd["btyd_clv_horizon"].to_numpy(),
            fallback["offset_floor"],
            fallback["offset_default"],
        )

    def matrix(rows: np.ndarray, label: np.ndarray | None, use_offset: bool) -> xgb.DMatrix:
        dm = dmatrix(enc, x[rows], None if label is None else label[rows])
        if use_offset and offset is not None:
            dm.set_base_margin(offset[rows])
        return dm

    def part(label: np.ndarray, depth: int, rounds: int, use_offset: bool) -> xgb.Booster:
        return _booster(
            booster_params(config, depth),
            matrix(tr, label, use_offset),
            matrix(va, label, use_offset),
            rounds,
            patience,
        )

    positive = part(ypos, config.max_depth, config.n_estimators, True)
    losses = np.maximum(-y, 0.0)
    n_neg = int((y[tr] < 0).sum())
    negative = None
    if n_neg >= config.min_negatives:
        negative = part(losses, min(3, config.max_depth), config.negative_estimators, False)
    constant = float(losses[tr].mean())
    learned_va = blend(
        positive.predict(matrix(va, None, True))
        - (negative.predict(matrix(va, None, False)) if negative else constant),
        btyd["btyd_clv_horizon"].to_numpy()[va],
        config.btyd_weight,
    )
    gini_learned = normalized_gini(y[va], learned_va)
    gini_btyd = normalized_gini(y[va], btyd["btyd_clv_horizon"].to_numpy()[va])
    return assemble(
        snapshot, config, params, enc, positive, negative, constant, fallback,
        n_train=len(tr), n_negative=int((y < 0).sum()),
        gini_learned=gini_learned, gini_btyd=gini_btyd, n_valid=len(va),
    )  # fmt: skip


def assemble(
    snapshot: Snapshot | SparkSnapshot,
    config: ClvConfig,
    params: BtydParams,
    enc: Encoding,
    positive: xgb.Booster,
    negative: xgb.Booster | None,
    constant: float,
    fallback: dict[str, float],
    *,
    n_train: int,
    n_valid: int,
    n_negative: int,
    gini_learned: float,
    gini_btyd: float,
) -> dict[str, object]:
    """The parts of a ClvModel, with the learned-or-BTYD choice on the validation Gini."""
    info = {
        "as_of": snapshot.as_of.isoformat(),
        "target": f"future_{config.target}",
        "families": list(snapshot.families),
        "channels": list(snapshot.channels),
        "n_train": n_train,
        "n_valid": n_valid,
        "n_negative_targets": n_negative,
        "positive_trees": positive.num_boosted_rounds(),
        "negative_trees": 0 if negative is None else negative.num_boosted_rounds(),
        "valid_gini_learned": gini_learned,
        "valid_gini_btyd": gini_btyd,
    }
    return {
        "btyd": params,
        "encoding": enc,
        "positive": positive,
        "negative": negative,
        "negative_constant": constant,
        "horizon_days": int(snapshot.horizon_days),
        "chosen": "learned" if gini_learned >= gini_btyd else "btyd",
        "fallback": fallback,
        "info": info,
    }


def fit(snapshot: Snapshot, config: ClvConfig | None = None) -> ClvModel:
    """Fit BTYD on the buyers' btyd columns and the boosters on the labelled customers."""
    config = ClvConfig() if config is None else config
    parts = fit_parts(snapshot, config)
    return ClvModel(config=config, **parts)  # type: ignore[arg-type]  # fit_parts builds them
