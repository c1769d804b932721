"""Each customer's transactions beside the store, and the event log folded into a publish.

``cintel materialize`` folds the event log into the validated data (``fold_events``: the
next full publish holds every acknowledged event) and writes, beside the store, the
transactions and customer rows the store was computed from (``write_history``): an Arrow
file of transactions in the store's customer order and one of customers (sign-up, the
row range of their transactions, their ``attr_*`` features). The service memory-maps
both (``History``) to recompute one customer's features when an event arrives.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from serving.event_log import folded_events
from training.data.contract import CleanData


def fold_events(data: CleanData, folder: Path) -> tuple[CleanData, int]:
    """``data`` plus the logged events it lacks (by ``event_id`` when the transactions
    have that column), new customers added with their first purchase as sign-up, as
    validation adds them; and the byte offset of the event log folded."""
    records, end = folded_events(folder)
    if not records:
        return data, end
    tx = data.transactions
    if "event_id" in tx.columns:
        have = set(tx["event_id"].dropna().astype(str))
        records = [r for r in records if str(r["event_id"]) not in have]
    if not records:
        return data, end
    ev = pd.DataFrame.from_records(records)
    ids = ev["customer_id"].astype(str)
    data_ids, cust_ids = tx["customer_id"], data.customers["customer_id"]
    if pd.api.types.is_integer_dtype(data_ids) and ids.str.fullmatch(r"-?\d+").all():
        ev_ids: pd.Series = ids.astype("int64")
    else:
        ev_ids, data_ids, cust_ids = ids, data_ids.astype(str), cust_ids.astype(str)
    families = _categories(tx["family"], ev["family"])
    channels = _categories(tx["channel"], ev["channel"])
    new = pd.DataFrame(
        {
            "customer_id": ev_ids.to_numpy(),
            "ts": pd.to_datetime(ev["ts"]).astype("datetime64[ns]").to_numpy(),
            "amount": ev["amount"].astype("float64").to_numpy(),
            "family": pd.Categorical(ev["family"], categories=families),
            "channel": pd.Categorical(ev["channel"], categories=channels),
            "margin": ev["margin"].astype("float64").to_numpy(),
            "quantity": ev["quantity"].astype("float64").to_numpy(),
            "event_id": ev["event_id"].astype(str).to_numpy(),
        }
    )
    old = tx.assign(
        customer_id=data_ids.to_numpy(),
        family=tx["family"].cat.set_categories(families),
        channel=tx["channel"].cat.set_categories(channels),
    )
    all_tx = pd.concat([old, new], ignore_index=True)
    customers = data.customers.assign(customer_id=cust_ids.to_numpy())
    unknown = new.loc[~new["customer_id"].isin(customers["customer_id"])]
    if len(unknown):
        first = unknown.groupby("customer_id", sort=False)["ts"].min()
        added = pd.DataFrame({"customer_id": first.index.to_numpy(), "signup_date": first})
        customers = pd.concat([customers, added.reset_index(drop=True)], ignore_index=True)
    return CleanData(all_tx, customers, data.report), end


def _categories(old: pd.Series, new: pd.Series) -> list[str]:
    known = list(old.cat.categories)
    return known + sorted(set(new.astype(str)) - set(known))


def write_history(
    data: CleanData, features: pd.DataFrame, folder: Path, remove_others: bool = True
) -> str:
    """Write the transactions and customer rows of the store's customers (``features``:
    the store's rows, in order) under a new name; returns the name (the store's meta
    keeps it, so a service holding the previous store keeps the previous files). The
    other history files are removed, or with ``remove_others`` False left for
    ``remove_other_histories`` once the store naming this one is written."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"history-{uuid.uuid4().hex[:12]}"
    raw_ids = pd.Index(features["customer_id"])
    ids = pd.Index(raw_ids.astype(str))
    tx = data.transactions
    codes = raw_ids.get_indexer(tx["customer_id"])
    keep = codes >= 0
    order = _by_customer_then_time(codes[keep], tx["ts"].to_numpy()[keep].view("int64"))
    rows = np.flatnonzero(keep)[order]
    counts = np.bincount(codes[keep], minlength=len(ids))
    ends = np.cumsum(counts)
    history = pd.DataFrame(
        {
            "ts": tx["ts"].to_numpy()[rows],
            "amount": tx["amount"].to_numpy()[rows],
            "margin": tx["margin"].to_numpy()[rows],
            "family": _take(tx["family"], rows),
            "channel": _take(tx["channel"], rows),
        }
    )
    signup = data.customers.set_index("customer_id")["signup_date"].reindex(raw_ids)
    attrs = [c for c in features.columns if str(c).startswith("attr_")]
    customers = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "signup_date": signup.to_numpy(),
            "start": ends - counts,
            "end": ends,
        }
    )
    for col in attrs:
        customers[col] = features[col].to_numpy()
    _write_arrow(history, folder / f"{name}-tx.arrow")
    _write_arrow(customers, folder / f"{name}-customers.arrow")
    if remove_others:
        remove_other_histories(folder, name)
    return name


def remove_other_histories(folder: Path, name: str) -> None:
    """Remove the history files in ``folder`` that are not ``name``'s."""
    for old in folder.glob("history-*.arrow"):
        if not old.name.startswith(name):
            old.unlink(missing_ok=True)  # a reader holding one keeps its open mapping


def _by_customer_then_time(codes: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """``np.lexsort((ts, codes))``: one stable sort by customer when each customer's rows
    are already in time order (logs sorted by customer or by time), else the lexsort."""
    order = np.argsort(codes, kind="stable")
    grouped, times = codes[order], ts[order]
    if not ((grouped[1:] == grouped[:-1]) & (times[1:] < times[:-1])).any():
        return order
    return np.lexsort((ts, codes))


def _take(column: pd.Series, rows: np.ndarray) -> pd.Categorical:
    """Rows of a categorical column without making an object per value."""
    codes = column.cat.codes.to_numpy()[rows]
    return pd.Categorical.from_codes(codes, categories=column.cat.categories)


def _write_arrow(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    tmp.replace(path)


class History:
    """The memory-mapped history of one store: a customer's transactions and row."""

    def __init__(self, folder: Path, name: str) -> None:
        def table(part: str) -> pa.Table:
            return pa.ipc.open_file(pa.memory_map(str(folder / f"{name}-{part}.arrow"))).read_all()

        self.name = name
        self._tx = table("tx")
        customers = table("customers")
        self._customers = customers
        ids = customers.column("customer_id").to_numpy(zero_copy_only=False)
        self._index = {str(c): i for i, c in enumerate(ids)}
        self._start = customers.column("start").to_numpy()
        self._end = customers.column("end").to_numpy()
        self.attributes = [c for c in customers.column_names if c.startswith("attr_")]
        self._arrays: dict[str, np.ndarray] | None = None  # ``arrays``: made on first use

    def __contains__(self, customer_id: str) -> bool:
        return customer_id in self._index

    def arrays(
        self, customer_ids: Sequence[str], families: Sequence[str], channels: Sequence[str]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The known customers' stored transactions as numpy arrays, customer after
        customer (``ts`` int64 ns; ``family``/``channel`` codes in the given layouts, -1
        for another value), and each row's position in ``customer_ids``."""
        if self._arrays is None:
            self._arrays = self._numpy(families, channels)
        parts, owners = [], []
        for pos, cid in enumerate(customer_ids):
            i = self._index.get(cid)
            if i is not None:
                start, end = int(self._start[i]), int(self._end[i])
                parts.append(np.arange(start, end))
                owners.append(np.full(end - start, pos, dtype=np.int64))
        rows = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        owner = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
        return owner, {k: v[rows] for k, v in self._arrays.items()}

    def _numpy(self, families: Sequence[str], channels: Sequence[str]) -> dict[str, np.ndarray]:
        """The transaction columns as arrays (zero-copy where Arrow allows)."""
        from serving.event_features import codes_of

        def coded(name: str, layout: Sequence[str]) -> np.ndarray:
            col = self._tx.column(name).combine_chunks()
            if not pa.types.is_dictionary(col.type):
                values = col.to_pylist()
                return codes_of(values, layout)
            table = codes_of(col.dictionary.to_pylist(), layout)
            idx = col.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            return np.where(idx >= 0, table[idx], -1)

        ts = self._tx.column("ts").combine_chunks().cast(pa.int64())
        return {
            "ts": ts.to_numpy(zero_copy_only=False),
            "amount": self._tx.column("amount").to_numpy(),
            "margin": self._tx.column("margin").to_numpy(),
            "family": coded("family", families),
            "channel": coded("channel", channels),
        }

    def customers(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Sign-up date and attributes of the known customers."""
        rows = [self._index[c] for c in customer_ids if c in self._index]
        if not rows:
            return {}
        table = self._customers.take(pa.array(rows, pa.int64()))
        columns = {name: _values(table.column(name)) for name in table.column_names}
        records = [{k: v[i] for k, v in columns.items()} for i in range(len(rows))]
        return {str(r["customer_id"]): r for r in records}


def _values(column: pa.ChunkedArray) -> list[Any]:
    """A column as ``to_pandas().to_dict("records")`` gives its values, without pandas:
    timestamps as ``pd.Timestamp`` (NaT when missing), numbers with a missing value as
    floats with NaN, the rest as Arrow's Python values (None when missing)."""
    values: list[Any] = column.to_pylist()
    kind = column.type
    if pa.types.is_timestamp(kind):
        return [pd.NaT if v is None else pd.Timestamp(v) for v in values]
    if (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and column.null_count:
        return [math.nan if v is None else float(v) for v in values]
    return values
