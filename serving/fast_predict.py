"""``Booster.predict`` on a DMatrix through XGBoost's C API, without its Python per call.

An event update scores one to a few rows with 15-16 boosters (12 propensity, churn, CLV's
two). ``Booster.predict(dm, validate_features=False)`` took ~81 µs a call on one row here,
of which the C prediction ``XGBoosterPredictFromDMatrix`` was ~8 µs: the rest is the
wrapper's JSON config, its ctypes array classes and numpy conversions. This makes the same
C call with the same config (plain predictions: no margin, contributions or leaves; every
tree; not training) and copies the result out as the wrapper does (XGBoost reuses the
buffer at the next call), so the values and shape are the wrapper's; on an XGBoost whose
Python package lacks what it uses, it falls back to ``Booster.predict``.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any

import numpy as np
import xgboost as xgb

CONFIG = json.dumps(
    {"type": 0, "training": False, "iteration_begin": 0, "iteration_end": 0,
     "strict_shape": False}
).encode()  # fmt: skip


def _c_api() -> tuple[Any, Any, Any] | None:
    """(the C function, the error check, the unsigned size type), or None."""
    try:
        from xgboost.core import _LIB, _check_call, c_bst_ulong
    except ImportError:
        return None
    fn = getattr(_LIB, "XGBoosterPredictFromDMatrix", None)
    return None if fn is None else (fn, _check_call, c_bst_ulong)


_API = _c_api()


def predict(booster: xgb.Booster, dm: xgb.DMatrix) -> np.ndarray:
    """``booster.predict(dm, validate_features=False)``: float32, the wrapper's shape."""
    if _API is None or not isinstance(booster, xgb.Booster):
        return booster.predict(dm, validate_features=False)
    fn, check, ulong = _API
    preds = ctypes.POINTER(ctypes.c_float)()
    shape = ctypes.POINTER(ulong)()
    dims = ulong()
    check(fn(booster.handle, dm.handle, CONFIG, ctypes.byref(shape), ctypes.byref(dims),
             ctypes.byref(preds)))  # fmt: skip
    dims_ = tuple(int(shape[i]) for i in range(dims.value))
    size = int(np.prod(dims_)) if dims_ else 0
    if size == 0:
        return np.zeros(dims_, dtype=np.float32)
    return np.ctypeslib.as_array(preds, shape=(size,)).copy().reshape(dims_)
