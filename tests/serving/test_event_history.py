"""The history file's row order: by customer, then time, as ``np.lexsort`` orders it."""

from __future__ import annotations

import numpy as np

from serving.event_history import _by_customer_then_time


def test_order_equals_lexsort_for_sorted_and_unsorted_logs() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 300, 20_000)
    ts = rng.integers(0, 50, 20_000)  # many ties, kept in file order
    by_time = np.argsort(ts, kind="stable")
    by_customer = np.lexsort((ts, codes))
    for rows in (by_time, by_customer, np.arange(len(codes))):
        c, t = codes[rows], ts[rows]
        assert np.array_equal(_by_customer_then_time(c, t), np.lexsort((t, c)))
