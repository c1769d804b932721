"""The economics columns of a few customers (P&L, lifecycle) on numpy arrays.

``training.economics.economics_columns`` as an event update needs it (no contact log, no
churn rule: the store keeps the stage without it), on the update's ``TxArrays``: the
arithmetic ``customer_pnl`` and ``lifecycle`` run too (``pnl_arrays``, ``stage_arrays``),
without building the tables they take. The event-vs-publish test checks the rows equal the next full
publish's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from serving.event_features import TxArrays, signup_arrays
from training.data.features import NS_PER_DAY, VALUE_DAYS, slug
from training.economics.costs import Costs
from training.economics.lifecycle import LifecycleRules, stage_arrays
from training.economics.pnl import _priced, pnl_arrays

Columns = dict[str, np.ndarray]


def _acquisition(
    customers: Mapping[str, Mapping[str, Any]], ids: Sequence[str], costs: Costs
) -> np.ndarray:
    """``pnl.acquisition_costs`` of the customers' stored rows (a new customer: none).

    The history keeps the customers table's columns as the features name them
    (``attr_<slug>``): the costs' column names are looked up under those names."""
    keys = {k for c in ids for k in customers.get(c, {})}
    out = np.full(len(ids), costs.acquisition.default)
    column = lambda name: np.array(  # noqa: E731
        [customers.get(c, {}).get(name, np.nan) for c in ids], dtype=object
    )
    by, own_column = f"attr_{slug(costs.acquisition_by)}", f"attr_{slug(costs.acquisition_column)}"
    if by in keys and not costs.acquisition.zero:
        out = _priced(column(by), costs.acquisition)
    if own_column in keys:
        raw = pd.Series(column(own_column))
        own = pd.to_numeric(raw, errors="coerce").to_numpy(float)
        out = np.where(np.isnan(own), out, own)
    return out


def pnl_columns(
    tx: TxArrays, channels: Sequence[str], customers: Mapping[str, Mapping[str, Any]],
    as_of: pd.Timestamp, costs: Costs,
) -> Columns:  # fmt: skip
    """``customer_pnl`` (no contacts) for ``tx.ids``, rounded to cents as the store keeps it."""
    n = len(tx.ids)
    start = as_of.value - VALUE_DAYS * NS_PER_DAY
    window = (tx.ts >= start) & (tx.ts < as_of.value)
    out = pnl_arrays(
        tx.owner[window], tx.ts[window], tx.amount[window], tx.margin[window],
        tx.channel[window], n, list(channels), costs, start, np.zeros(n),
        _acquisition(customers, tx.ids, costs),
    )  # fmt: skip
    return {k: np.round(v.astype("float64"), 2) for k, v in out.items()}


def lifecycle_columns(
    tx: TxArrays, signups: Mapping[str, int | None], as_of: pd.Timestamp,
    rules: LifecycleRules | None = None,
) -> Columns:  # fmt: skip
    """``lifecycle(tx, signup, ids, as_of)`` (no churn rule) for ``tx.ids``."""
    keep = (tx.ts < as_of.value) & (tx.amount > 0)
    sign_ns, missing = signup_arrays(signups, tx.ids)
    return stage_arrays(
        tx.owner[keep].astype(np.int64), tx.ts[keep], tx.amount[keep], len(tx.ids), as_of,
        sign_ns, missing, rules=rules,
    )  # fmt: skip


def economics_rows(
    tx: TxArrays, channels: Sequence[str], customers: Mapping[str, Mapping[str, Any]],
    signups: Mapping[str, int | None], as_of: pd.Timestamp, costs: Costs,
) -> list[dict[str, Any]]:  # fmt: skip
    """``economics_columns(...).to_dict("records")`` for ``tx.ids`` at ``as_of``."""
    cols = {
        **pnl_columns(tx, channels, customers, as_of, costs),
        **lifecycle_columns(tx, signups, as_of),
    }
    lists = {k: v.tolist() for k, v in cols.items()}
    day, source = f"{as_of:%Y-%m-%d}", costs.source or ""
    return [
        {**{k: v[i] for k, v in lists.items()}, "lifecycle_as_of": day, "costs_file": source}
        for i in range(len(tx.ids))
    ]
