"""Point-in-time customer features: only events strictly before ``as_of`` are used.

Pure and vectorised: per-customer sums are ``np.bincount`` over integer customer codes,
per-day quantities come from one ``np.unique`` over (customer, day) keys. No per-customer
Python, no groupby-apply, so 30 M transactions fit in seconds and a few GB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 10**9
TREND_DAYS = 90
VALUE_DAYS = 365
# 1970-01-01 was a Thursday: weekday = (epoch_day + 3) % 7 with Monday = 0
_EPOCH_WEEKDAY_SHIFT = 3


def slug(name: object) -> str:
    """A column-safe name for a family or channel: lower case, words joined by '_'."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return text or "blank"


def slugs(names: list[str]) -> list[str]:
    """Slugs of several names; two names with the same slug are an error, not a merge."""
    out = [slug(n) for n in names]
    if len(set(out)) != len(out):
        raise ValueError(f"category names collide once made column-safe: {names} -> {out}")
    return out


def category_codes(column: pd.Series, categories: list[str]) -> np.ndarray:
    """int64 position of each value in ``categories`` (-1: missing or not among them), as
    ``pd.Categorical(column.to_numpy(), categories=categories).codes``; a categorical
    column is mapped through its own codes, without a Python object per row."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical(column.to_numpy(), categories=categories).codes.astype(np.int64)
    own = column.cat.codes.to_numpy()
    mapping = pd.Index(categories).get_indexer(column.cat.categories)
    table = np.append(mapping, -1).astype(np.int64)  # code -1 (missing) -> -1
    return table[own]


def customer_index(customers: pd.DataFrame, tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.Index:
    """Customers known at ``as_of``: signed up before it, or bought before it; sorted by id."""
    signed = customers.loc[customers["signup_date"] < as_of, "customer_id"]
    bought = tx.loc[tx["ts"] < as_of, "customer_id"].unique()
    return cast(pd.Index, pd.Index(np.union1d(signed.to_numpy(), bought), name="customer_id"))


def _sum(codes: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(codes, weights=weights, minlength=n).astype("float64")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _daily(
    codes: np.ndarray, day: np.ndarray, amount: np.ndarray, n: int, obs_end_day: int
) -> dict[str, np.ndarray]:
    """Buy-till-you-die summary and inter-purchase times from distinct purchase days."""
    if len(codes) == 0:
        zeros = np.zeros(n)
        nan = np.full(n, np.nan)
        return {
            "n_purchase_days": zeros,
            "btyd_frequency": zeros,
            "btyd_recency": nan,
            "btyd_T": nan,
            "btyd_monetary": zeros,
            "ipt_mean_days": nan,
            "ipt_std_days": nan,
        }
    base = int(day.min())
    span = int(day.max()) - base + 1
    key = codes.astype(np.int64) * span + (day - base)
    ukey, inverse = np.unique(key, return_inverse=True)
    ucode = ukey // span
    uday = ukey % span + base
    day_spend = np.bincount(inverse, weights=amount)
    n_days = _sum(ucode, n)
    first_pos = np.searchsorted(ucode, np.arange(n), side="left")
    last_pos = np.searchsorted(ucode, np.arange(n), side="right") - 1
    has = n_days > 0
    first_day = np.where(has, uday[np.minimum(first_pos, len(uday) - 1)], 0)
    last_day = np.where(has, uday[np.maximum(last_pos, 0)], 0)
    first_spend = np.where(has, day_spend[np.minimum(first_pos, len(uday) - 1)], 0.0)
    spend = _sum(ucode, n, day_spend)
    same = np.r_[False, ucode[1:] == ucode[:-1]]
    gaps = np.diff(uday, prepend=uday[0]).astype("float64")
    gap_sum = _sum(ucode[same], n, gaps[same])
    gap_sq = _sum(ucode[same], n, gaps[same] ** 2)
    n_gaps = np.clip(n_days - 1, 0, None)
    ipt_mean = _ratio(gap_sum, n_gaps)
    ipt_var = _ratio(gap_sq, n_gaps) - ipt_mean**2
    ipt_std = np.where(
        n_gaps > 1, np.sqrt(np.clip(ipt_var * _ratio(n_gaps, n_gaps - 1), 0, None)), np.nan
    )
    frequency = np.where(has, n_days - 1, 0.0)
    return {
        "n_purchase_days": n_days,
        "btyd_frequency": frequency,
        "btyd_recency": np.where(has, (last_day - first_day).astype("float64"), np.nan),
        "btyd_T": np.where(has, (obs_end_day - first_day).astype("float64"), np.nan),
        "btyd_monetary": np.where(frequency > 0, _ratio(spend - first_spend, frequency), 0.0),
        "ipt_mean_days": ipt_mean,
        "ipt_std_days": ipt_std,
    }


def feature_arrays(
    codes: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    margin: np.ndarray,
    fam: np.ndarray,
    chan: np.ndarray,
    n: int,
    as_of_ns: int,
    signup_ns: np.ndarray,
    signup_missing: np.ndarray,
    families: Sequence[str],
    channels: Sequence[str],
    *,
    time_unit_days: float = 1.0,
) -> dict[str, np.ndarray]:
    """The feature columns of ``n`` customers (no id, no attributes) from their
    transactions before ``as_of_ns`` as arrays: ``codes`` the row's customer (0..n-1),
    ``ts`` int64 ns, ``fam``/``chan`` codes in ``families``/``channels``; ``signup_ns`` per
    customer (ignored where ``signup_missing``: the first purchase is the sign-up).

    The one implementation of the arithmetic: ``compute_features`` (millions of rows) and
    the event path (``serving.event_features``: a few customers) both call it."""
    fam_cols, chan_cols = slugs(list(families)), slugs(list(channels))
    day = ts // NS_PER_DAY
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

    tenure = np.where(signup_missing, since_first, (as_of_ns - signup_ns) / NS_PER_DAY)

    weekend = ((day + _EPOCH_WEEKDAY_SHIFT) % 7) >= 5
    out: dict[str, np.ndarray] = {
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
    # a purchase day for buy-till-you-die counts every non-return row, $0 ones included,
    # as lifetimes and Fader-Hardie do (CDNOW has $0 purchases; returns are not purchases)
    occasion = amount >= 0
    daily = _daily(codes[occasion], day[occasion], amount[occasion], n, obs_end_day)
    for name in ("btyd_recency", "btyd_T"):
        daily[name] = daily[name] / time_unit_days
    out.update(daily)

    nf, nc = len(families), len(chan_cols)
    fam_spend = _sum(codes[bought] * nf + fam[bought], n * nf, amount[bought]).reshape(n, nf)
    fam_count = _sum(codes[bought] * nf + fam[bought], n * nf).reshape(n, nf)
    chan_count = _sum(codes * nc + chan, n * nc).reshape(n, nc)
    for j, col in enumerate(fam_cols):
        out[f"fam_share__{col}"] = _ratio(fam_spend[:, j], gross)
        out[f"fam_count__{col}"] = fam_count[:, j]
    for j, col in enumerate(chan_cols):
        out[f"chan_share__{col}"] = _ratio(chan_count[:, j], n_tx)
    return out


def compute_features(
    tx: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: pd.Timestamp | str,
    *,
    families: list[str] | None = None,
    channels: list[str] | None = None,
    time_unit_days: float = 1.0,
) -> pd.DataFrame:
    """One row per customer known at ``as_of`` with features from events before it.

    ``tx`` and ``customers`` are validated tables (``training.data.contract.validate``).
    ``families``/``channels`` fix the one-hot layout (default: the categories of ``tx``),
    so snapshots at different dates share columns. The buy-till-you-die columns
    (``btyd_*``) follow lifetimes' ``summary_data_from_transaction_data`` with daily
    periods and the observation ending on the last day before ``as_of``; divide by
    ``time_unit_days`` (7 for weeks). Inputs are not modified.
    """
    as_of = pd.Timestamp(as_of)
    families = list(tx["family"].cat.categories) if families is None else families
    channels = list(tx["channel"].cat.categories) if channels is None else channels
    ids = customer_index(customers, tx, as_of)
    n = len(ids)

    before = (tx["ts"] < as_of).to_numpy()
    # as_of after the data (a publish): every row, without a masked copy of each column
    past: np.ndarray | slice = slice(None) if before.all() else before
    codes = ids.get_indexer(pd.Index(tx["customer_id"].to_numpy()[past])).astype(np.int64)
    ts = tx["ts"].to_numpy()[past].view("int64")
    amount = tx["amount"].to_numpy()[past]
    margin = tx["margin"].to_numpy()[past]
    fam = category_codes(tx["family"], families)[past]
    chan = category_codes(tx["channel"], channels)[past]
    signup = customers.set_index("customer_id")["signup_date"].reindex(ids).to_numpy()
    out = feature_arrays(
        codes, ts, amount, margin, fam, chan, n, int(as_of.value),
        signup.view("int64"), np.asarray(pd.isna(signup)), families, channels,
        time_unit_days=time_unit_days,
    )  # fmt: skip

    # one frame built once (a join then a reset_index copied every column twice)
    attrs = _attributes(customers, ids)
    if attrs.columns.duplicated().any() or set(attrs.columns) & set(out):
        return pd.DataFrame(out, index=ids).join(attrs).reset_index()  # as join names them
    columns: dict[str, object] = {"customer_id": ids.to_numpy(), **out}
    columns.update((str(c), attrs[c].to_numpy()) for c in attrs.columns)
    return pd.DataFrame(columns)


MONEY_EPS = 1e-9  # sums of money below this are zero (rounding of cancelling amounts)


def _trend(last: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """(last − prev) / (|last| + |prev|): −1 stopped, 0 flat, +1 new; 0 when both are 0.

    "0" means below ``MONEY_EPS``: purchases and their returns cancel to ±1e-16 or so
    depending on the order of addition, which must not flip the trend to ±1."""
    den = np.abs(last) + np.abs(prev)
    return np.where(den > MONEY_EPS, _ratio(last - prev, den), 0.0)


def _attributes(customers: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """Customer attributes as ``attr_<name>`` columns, aligned to ``ids``."""
    attrs = customers.drop(columns=["signup_date"]).set_index("customer_id")
    attrs = attrs.reindex(ids)
    # plain strings, not pandas categories: model signatures and JSON expect str columns
    for col in attrs.columns:
        if isinstance(attrs[col].dtype, pd.CategoricalDtype):
            attrs[col] = attrs[col].astype(object)
    return attrs.rename(columns=lambda c: f"attr_{slug(c)}")
