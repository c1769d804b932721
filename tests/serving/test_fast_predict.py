"""serving.fast_predict gives Booster.predict's values and shapes (one call of XGBoost's C API)."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from serving.fast_predict import predict


@pytest.mark.parametrize(
    ("objective", "extra"),
    [("binary:logistic", {}), ("multi:softprob", {"num_class": 3}), ("reg:squarederror", {})],
)
def test_the_same_values_and_shape_as_the_wrapper(objective: str, extra: dict) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = rng.integers(0, extra.get("num_class", 2), size=200).astype(np.float32)
    params = {"objective": objective, "max_depth": 3, "nthread": 1, **extra}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=8)
    for rows in (1, 3, 50):
        dm = xgb.DMatrix(x[:rows], nthread=1)
        want, got = booster.predict(dm, validate_features=False), predict(booster, dm)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    # a base margin set on the DMatrix is used, as by the wrapper
    dm = xgb.DMatrix(x[:4], nthread=1)
    dm.set_base_margin(np.full(4 * extra.get("num_class", 1), 0.5))
    np.testing.assert_array_equal(predict(booster, dm), booster.predict(dm))
    # the result is a copy: the next call does not change it
    first = predict(booster, xgb.DMatrix(x[:2], nthread=1))
    kept = first.copy()
    predict(booster, xgb.DMatrix(x[5:7], nthread=1))
    np.testing.assert_array_equal(first, kept)
