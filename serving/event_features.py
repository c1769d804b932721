"""The model inputs of a few customers from their history and events, on numpy arrays.

``training.data.features.compute_features`` is vectorised over millions of transactions,
but on the one to a few customers of an event update its pandas set-up (the customer
index, categoricals, the output frame, the joins) costs more than its arithmetic. This is
the same arithmetic (its own helpers ``_sum``, ``_ratio``, ``_daily``, ``_trend``) on the
customers' transactions as arrays, read straight from the memory-mapped history; a test
checks the rows equal the batch features and the next full publish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.data.features import (
    _EPOCH_WEEKDAY_SHIFT,
    NS_PER_DAY,
    TREND_DAYS,
    VALUE_DAYS,
    _daily,
    _ratio,
    _sum,
    _trend,
    slugs,
)

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
    fam_cols, chan_cols = slugs(list(families)), slugs(list(channels))
    n = len(tx.ids)
    as_of_ns = int(as_of.value)
    past = tx.ts < as_of_ns
    codes, ts = tx.owner[past], tx.ts[past]
    day = ts // NS_PER_DAY
    amount, margin = tx.amount[past], tx.margin[past]
    fam, chan = tx.family[past], tx.channel[past]
    obs_end_day = (as_of_ns - 1) // NS_PER_DAY

    bought = amount > 0
    n_tx = _sum(codes, n)
    n_buy = _sum(codes, n, bought.astype("float64"))
    n_ret = _sum(codes, n, (amount < 0).astype("float64"))
    gross = _sum(codes, n, np.where(bought, amount, 0.0))
    last90 = ts >= as_of_ns - TREND_DAYS * NS_PER_DAY
    prev90 = (ts >= as_of_ns - 2 * TREND_DAYS * NS_PER_DAY) & ~last90
    spend_last = _sum(codes[last90], n, amount[last90])
    spend_prev = _sum(codes[prev90], n, amount[prev90])
    in_year = ts >= as_of_ns - VALUE_DAYS * NS_PER_DAY

    first_ts = np.full(n, np.iinfo(np.int64).max)
    last_ts = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first_ts, codes, ts)
    np.maximum.at(last_ts, codes, ts)
    has = n_tx > 0
    recency = np.where(has, (as_of_ns - last_ts) / NS_PER_DAY, np.nan)
    since_first = np.where(has, (as_of_ns - first_ts) / NS_PER_DAY, np.nan)
    sign = [signups.get(c) for c in tx.ids]
    missing = np.array([s is None for s in sign])
    sign_ns = np.array([0 if s is None else s for s in sign], dtype=np.int64)
    tenure = np.where(missing, since_first, (as_of_ns - sign_ns) / NS_PER_DAY)

    weekend = ((day + _EPOCH_WEEKDAY_SHIFT) % 7) >= 5
    out: Columns = {
        "customer_id": np.asarray(tx.ids, dtype=object),
        "recency_days": recency,
        "frequency": n_buy,
        "n_transactions": n_tx,
        "monetary_mean": _ratio(gross, n_buy),
        "spend_total": _sum(codes, n, amount),
        "gross_spend": gross,
        "margin_total": _sum(codes, n, margin),
        "margin_365d": _sum(codes[in_year], n, margin[in_year]),
        "spend_365d": _sum(codes[in_year], n, amount[in_year]),
        "tenure_days": tenure,
        "days_since_first": since_first,
        "return_rate": _ratio(n_ret, n_tx),
        "spend_last_90d": spend_last,
        "spend_prev_90d": spend_prev,
        "spend_trend": _trend(spend_last, spend_prev),
        "weekend_share": _ratio(_sum(codes, n, weekend.astype("float64")), n_tx),
    }
    occasion = amount >= 0
    out.update(_daily(codes[occasion], day[occasion], amount[occasion], n, obs_end_day))

    nf, nc = len(families), len(chan_cols)
    # (validated events and the stored history only hold the store's families and channels)
    fam_spend = _sum(codes[bought] * nf + fam[bought], n * nf, amount[bought]).reshape(n, nf)
    fam_count = _sum(codes[bought] * nf + fam[bought], n * nf).reshape(n, nf)
    chan_count = _sum(codes * nc + chan, n * nc).reshape(n, nc)
    for j, col in enumerate(fam_cols):
        out[f"fam_share__{col}"] = _ratio(fam_spend[:, j], gross)
        out[f"fam_count__{col}"] = fam_count[:, j]
    for j, col in enumerate(chan_cols):
        out[f"chan_share__{col}"] = _ratio(chan_count[:, j], n_tx)
    return out
