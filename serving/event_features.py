"""The model inputs of a few customers from their history and events, on numpy arrays.

``training.data.features.compute_features`` is vectorised over millions of transactions,
but on the one to a few customers of an event update its pandas set-up (the customer
index, categoricals, the output frame, the joins) costs more than its arithmetic. This
feeds the same arithmetic (``training.data.features.feature_arrays``, which
``compute_features`` calls too) with the customers' transactions as arrays, read straight
from the memory-mapped history; a test checks the rows equal the next full publish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.data.features import feature_arrays

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class TxArrays:
    """Transactions of the customers of one update, customer by customer (stored rows,
    then their events); ``owner`` is the position of the row's customer in ``ids``."""

    ids: list[str]
    owner: np.ndarray  # int64
    ts: np.ndarray  # int64 ns, naive UTC
    amount: np.ndarray
    margin: np.ndarray
    family: np.ndarray  # int64 code in the store's families (-1: another)
    channel: np.ndarray  # int64 code in the store's channels (-1: another)


def subset(tx: TxArrays, members: Sequence[int]) -> TxArrays:
    """The transactions of the customers at positions ``members`` of ``tx.ids`` (their
    order), renumbered."""
    keep = np.isin(tx.owner, members)
    remap = np.full(len(tx.ids), -1, dtype=np.int64)
    remap[list(members)] = np.arange(len(members))
    return TxArrays(
        [tx.ids[i] for i in members], remap[tx.owner[keep]], tx.ts[keep], tx.amount[keep],
        tx.margin[keep], tx.family[keep], tx.channel[keep],
    )  # fmt: skip


def codes_of(values: Sequence[Any], categories: Sequence[str]) -> np.ndarray:
    """Positions of ``values`` in ``categories`` (-1 elsewhere), as ``pd.Categorical``."""
    index = {c: i for i, c in enumerate(categories)}
    return np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def signup_ns(value: Any) -> int | None:
    """A sign-up date as ns (None when missing)."""
    if value is None or pd.isna(value):
        return None
    return int(pd.Timestamp(value).value)


def signup_arrays(
    signups: Mapping[str, int | None], ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Sign-up ns of ``ids`` (0 where missing) and where it is missing (None in ``signups``)."""
    sign = [signups.get(c) for c in ids]
    missing = np.array([s is None for s in sign], dtype=bool)
    return np.array([0 if s is None else s for s in sign], dtype=np.int64), missing


def feature_columns(
    tx: TxArrays,
    signups: Mapping[str, int | None],
    as_of: pd.Timestamp,
    families: Sequence[str],
    channels: Sequence[str],
) -> Columns:
    """``compute_features(tx, customers, as_of, families=, channels=)`` for ``tx.ids`` (in
    that order, each known at ``as_of``: the update's customers bought before it), without
    the attributes. ``signups``: sign-up ns by id (None: signed up with the first purchase)."""
    past = tx.ts < int(as_of.value)
    sign_ns, missing = signup_arrays(signups, tx.ids)
    columns = feature_arrays(
        tx.owner[past], tx.ts[past], tx.amount[past], tx.margin[past], tx.family[past],
        tx.channel[past], len(tx.ids), int(as_of.value), sign_ns, missing, families, channels,
    )  # fmt: skip
    # (validated events and the stored history only hold the store's families and channels)
    return {"customer_id": np.asarray(tx.ids, dtype=object), **columns}
