"""Training one propensity booster: stratified validation split and early stopping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xgboost as xgb

if TYPE_CHECKING:
    from training.propensity.config import PropensityConfig


def _split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A stratified validation mask: ``fraction`` of each class, at least one of each."""
    valid = np.zeros(len(y), dtype=bool)
    for cls in (0.0, 1.0):
        idx = np.flatnonzero(y == cls)
        n = max(1, round(fraction * len(idx)))
        valid[rng.choice(idx, size=n, replace=False)] = True
    return valid


def booster_params(config: PropensityConfig, seed: int) -> dict[str, object]:
    """``xgb.train`` parameters of one propensity booster (the Spark fit converts the same)."""
    return {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_depth": config.max_depth,
        "learning_rate": config.learning_rate,
        "min_child_weight": config.min_child_weight,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "nthread": config.n_jobs,
        "seed": seed,
    }


def train_booster(
    x: np.ndarray, y: np.ndarray, names: list[str], config: PropensityConfig, seed: int
) -> xgb.Booster:
    """Early stopping on a stratified validation split; keep only the best iteration's trees."""
    valid = _split(y, config.valid_fraction, np.random.default_rng(seed))
    params = booster_params(config, seed)
    dtrain = xgb.DMatrix(x[~valid], label=y[~valid], feature_names=names, nthread=config.n_jobs)
    dvalid = xgb.DMatrix(x[valid], label=y[valid], feature_names=names, nthread=config.n_jobs)
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=config.n_estimators,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )
    return booster[: booster.best_iteration + 1]


def skip_reason(pos: int, n: int, config: PropensityConfig) -> str | None:
    """Why a booster with ``pos`` positives among ``n`` labelled customers is not fitted."""
    neg = n - pos
    if pos == 0:
        return "no positive labels"
    if pos < config.min_positives:
        return f"{pos} positive labels (< min_positives={config.min_positives})"
    if neg < config.min_negatives:
        return f"{neg} negative labels (< min_negatives={config.min_negatives})"
    return None
