"""The baseline model of the HTTP benches: 300 trees, depth 6, 40 features, nthread=1."""

from __future__ import annotations

import numpy as np
import xgboost as xgb

N_FEATURES = 40


def train_booster(seed: int = 0) -> xgb.Booster:
    """A booster trained at start on random data (the cost, not the accuracy, matters)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5_000, N_FEATURES)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=5_000) > 0).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 6, "nthread": 1, "eta": 0.1}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=300)
    booster.set_param({"nthread": 1})
    return booster


def predict_one(booster: xgb.Booster, features: list[float]) -> float:
    """One row through ``inplace_predict`` (no DMatrix, no pandas)."""
    row = np.asarray(features, dtype=np.float32).reshape(1, -1)
    return float(booster.inplace_predict(row)[0])
