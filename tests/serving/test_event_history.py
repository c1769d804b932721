"""The memory-mapped history: customer rows read without pandas give pandas' values, and the
file's row order is by customer, then time, as ``np.lexsort`` orders it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from serving.event_history import _by_customer_then_time, _values


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return (a is pd.NaT and b is pd.NaT) or (a == b and type(a) is type(b))


def test_values_equal_to_pandas_records_with_and_without_missing_values() -> None:
    table = pa.table(
        {
            "customer_id": ["1", "2", "3"],
            "signup_date": pa.array(
                [pd.Timestamp("2025-01-02"), None, pd.Timestamp("2024-05-06")], pa.timestamp("ns")
            ),
            "start": pa.array([0, 3, 7], pa.int64()),
            "attr_age": pa.array([31, None, 40], pa.int64()),
            "attr_score": pa.array([0.5, 1.5, None], pa.float64()),
            "attr_region": pa.array(["north", None, "east"]),
        }
    )
    expected = table.to_pandas().to_dict("records")
    columns = {name: _values(table.column(name)) for name in table.column_names}
    got = [{k: v[i] for k, v in columns.items()} for i in range(table.num_rows)]
    for want, have in zip(expected, got, strict=True):
        assert want.keys() == have.keys()
        for key in want:
            assert _same(want[key], have[key]), (key, want[key], have[key])


def test_order_equals_lexsort_for_sorted_and_unsorted_logs() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 300, 20_000)
    ts = rng.integers(0, 50, 20_000)  # many ties, kept in file order
    by_time = np.argsort(ts, kind="stable")
    by_customer = np.lexsort((ts, codes))
    for rows in (by_time, by_customer, np.arange(len(codes))):
        c, t = codes[rows], ts[rows]
        assert np.array_equal(_by_customer_then_time(c, t), np.lexsort((t, c)))
