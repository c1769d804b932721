"""One comparison for frames two engines computed: text identical, numbers within tolerance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def assert_frames_agree(
    got: pd.DataFrame,
    want: pd.DataFrame,
    rtol: float,
    atol: float,
    exact: Callable[[str], bool] = lambda _col: False,
) -> None:
    """Same rows in the same order, same NaN positions; non-float columns equal as text,
    float columns equal where ``exact(col)``, else within ``rtol``/``atol``."""
    assert sorted(got.columns) == sorted(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        g, w = got[col].to_numpy(), want[col].to_numpy()
        if w.dtype.kind != "f":
            assert list(map(str, g)) == list(map(str, w)), col
            continue
        g = g.astype("float64")
        assert np.array_equal(np.isnan(g), np.isnan(w)), f"{col}: NaN positions differ"
        ok = ~np.isnan(w)
        if exact(col):
            np.testing.assert_array_equal(g[ok], w[ok], err_msg=col)
        else:
            np.testing.assert_allclose(g[ok], w[ok], rtol=rtol, atol=atol, err_msg=col)


# the store columns of issue 15's customer economics (besides its models' scores)
ECONOMICS_COLUMNS = frozenset(
    {
        "margin_12m", "returns_12m", "orders_12m", "cost_to_serve_12m", "contact_cost_12m",
        "net_contribution_12m", "acquisition_cost", "lifecycle_stage", "lifecycle_since",
        "lifecycle_as_of", "costs_file",
        # the cells and micro-segments (training.economics.cells)
        "potential_level", "cell", "cell_strategy", "micro_segment",
    }
)  # fmt: skip


def assert_stores_agree(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Two stores of scored profiles (``got`` from Spark, ``want`` from pandas): the same
    customers and columns, every score within 1e-6, the economics columns too."""
    assert sorted(got.columns) == sorted(want.columns)
    assert set(got.columns) >= ECONOMICS_COLUMNS
    want = want.sort_values("customer_id", ignore_index=True)
    got = got.sort_values("customer_id", ignore_index=True)
    assert list(got["customer_id"]) == list(want["customer_id"])
    assert_frames_agree(got, want, rtol=1e-6, atol=1e-6)
