"""The economics columns of a few customers (P&L, lifecycle) on numpy arrays.

``training.economics.economics_columns`` as an event update needs it (no contact log, no
churn rule: the store keeps the stage without it), on the update's ``TxArrays``:
``customer_pnl``'s and ``lifecycle``'s arithmetic with their own helpers, without building
the tables they take. The event-vs-publish test checks the rows equal the next full
publish's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from serving.event_features import TxArrays
from training.data.features import NS_PER_DAY, VALUE_DAYS, slug
from training.economics.costs import Costs
from training.economics.lifecycle import LifecycleRules, _median_gap
from training.economics.pnl import _distinct_orders, _price_table, _priced

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
    codes, ts = tx.owner[window], tx.ts[window]
    amount, margin = tx.amount[window], tx.margin[window].astype(float)
    chan = tx.channel[window]
    bought = amount >= 0
    margin_12m = np.bincount(codes[bought], margin[bought], n)
    returns_12m = -np.bincount(codes[~bought], margin[~bought], n)
    n_returns = np.bincount(codes[~bought], minlength=n).astype(float)
    o_codes, o_ts, o_chan = codes[bought], ts[bought], chan[bought]
    first = _distinct_orders(o_codes, o_ts, o_chan, start)
    n_orders = np.bincount(o_codes[first], minlength=n).astype(float)
    price = _price_table(list(channels), costs.per_order)[o_chan[first]]
    serve = np.bincount(o_codes[first], price, n) + costs.per_return * n_returns
    contact = np.zeros(n)
    out = {
        "margin_12m": margin_12m,
        "returns_12m": returns_12m + 0.0,
        "orders_12m": n_orders,
        "cost_to_serve_12m": serve,
        "contact_cost_12m": contact,
        "net_contribution_12m": margin_12m - returns_12m - serve - contact,
        "acquisition_cost": _acquisition(customers, tx.ids, costs),
    }
    return {k: np.round(v.astype("float64"), 2) for k, v in out.items()}


def lifecycle_columns(
    tx: TxArrays, signups: Mapping[str, int | None], as_of: pd.Timestamp,
    rules: LifecycleRules | None = None,
) -> Columns:  # fmt: skip
    """``lifecycle(tx, signup, ids, as_of)`` (no churn rule) for ``tx.ids``."""
    r = rules or LifecycleRules()
    n = len(tx.ids)
    now = as_of.value / NS_PER_DAY
    keep = (tx.ts < as_of.value) & (tx.amount > 0)
    codes, day = tx.owner[keep].astype(np.int64), tx.ts[keep] // NS_PER_DAY
    amount = tx.amount[keep]
    key = np.sort(codes * 1_000_000 + (day - (day.min() if len(day) else 0)))
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    ucode, uday = key // 1_000_000, key % 1_000_000 + (day.min() if len(day) else 0)
    n_days = np.bincount(ucode, minlength=n)
    bought = n_days > 0
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    np.fmin.at(first, ucode, uday.astype(float))
    np.fmax.at(last, ucode, uday.astype(float))
    same = np.r_[False, ucode[1:] == ucode[:-1]]
    steps = np.diff(uday, prepend=uday[:1]).astype(float)
    gap = _median_gap(ucode[same], steps[same], n, r.default_gap_days)
    lapse = np.maximum(r.lapsed_factor * gap, r.lapsed_min_days)
    risk = np.maximum(r.at_risk_factor * gap, r.at_risk_min_days)
    recency = now - last - 1.0
    ended = same & (steps > lapse[ucode])
    back = np.full(n, np.nan)
    np.fmax.at(back, ucode[ended], uday[ended].astype(float))
    t = np.asarray(tx.ts[keep], dtype=np.int64)
    last90 = t >= as_of.value - r.trend_days * NS_PER_DAY
    prev90 = (t >= as_of.value - 2 * r.trend_days * NS_PER_DAY) & ~last90
    s_last = np.bincount(codes[last90], amount[last90], n)
    s_prev = np.bincount(codes[prev90], amount[prev90], n)
    den = np.abs(s_last) + np.abs(s_prev)
    trend = np.divide(s_last - s_prev, den, out=np.zeros(n), where=den > 1e-9)
    ns = [signups.get(c) for c in tx.ids]
    missing = np.array([v is None for v in ns])
    sign = np.array([0 if v is None else v for v in ns], dtype=np.int64) / NS_PER_DAY
    sign = np.where(missing, first, sign)
    tenure = now - sign
    churn_hit = np.zeros(n, bool)
    conditions = [
        tenure < r.new_days,
        ~bought | (recency > lapse),
        (recency > risk) | churn_hit,
        bought & (now - back <= r.won_back_days),
        bought & (n_days > 1) & (trend >= r.developing_trend),
    ]
    names = ["new", "lapsed", "at risk", "won back", "developing"]
    stage = np.select(conditions, names, default="active")
    active_since = np.fmax(np.fmax(sign + r.new_days, first), back + r.won_back_days)
    since = np.select(
        conditions,
        [
            sign,
            np.where(bought, last + 1.0 + lapse, sign + r.new_days),
            np.where(recency > risk, last + 1.0 + risk, np.floor(now)),
            back,
            np.full(n, np.floor(now) - r.trend_days),
        ],
        default=active_since,
    )
    since = np.minimum(since, np.floor(now))
    if np.isfinite(since).all():  # numpy's dates: pandas' strftime costs ~1 ms a call
        dates = np.floor(since).astype("int64").astype("datetime64[D]").astype(str).tolist()
    else:
        dates = pd.to_datetime(np.floor(since) * NS_PER_DAY, unit="ns").strftime("%Y-%m-%d")
    return {
        "lifecycle_stage": stage.astype(object),
        "lifecycle_since": np.asarray(dates, object),
    }


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
