"""Synthetic feature + prediction frames for the monitoring tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

Maker = Callable[..., pd.DataFrame]


def make_frame(
    n: int,
    seed: int,
    shift: float = 0.0,
    shifted: int = 0,
    churn_shift: float = 0.0,
    n_features: int = 20,
) -> pd.DataFrame:
    """``n_features`` N(0,1) features (the first ``shifted`` moved by ``shift`` sigma), a
    categorical channel, customer_id and predictions as served."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {"customer_id": np.arange(n)}
    for i in range(n_features):
        data[f"f{i:02d}"] = rng.normal(size=n) + (shift if i < shifted else 0.0)
    data["channel"] = rng.choice(["web", "shop", "call"], n, p=[0.5, 0.3, 0.2])
    data["churn_probability"] = np.clip(rng.beta(2, 5, n) + churn_shift, 0, 1)
    data["clv_12m"] = rng.gamma(2.0, 50.0, n)
    data["segment"] = rng.choice(["loyal", "new", "at_risk"], n, p=[0.4, 0.4, 0.2])
    data["propensity_any__wine"] = rng.beta(2, 3, n)
    return pd.DataFrame(data)


@pytest.fixture
def frame() -> Maker:
    return make_frame
