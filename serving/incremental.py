"""One customer's store row recomputed from their transactions: the batch recipes on a few rows.

The features are ``training.data.features.compute_features``' over the customer's stored
transactions plus their new events, at the customer's own as_of (the day after their
latest event, never before the store's), and the outputs are ``score_all``'s, the
function ``cintel materialize`` scores with, so an event-updated row equals what the next
full publish computes for that customer at that as_of. Both run on numpy arrays
(``serving.event_features``, ``serving.rowscore``, ``serving.event_economics``): on one
to a few customers pandas' set-up costs 10-35 ms per step, the arithmetic microseconds.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serving.event_features import TxArrays, codes_of, feature_columns, signup_ns, subset
from serving.event_history import History
from serving.store import python_value
from training.tasks import FittedModel

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class StoreLayout:
    """What a store's rows were computed with (its meta): the update must match it."""

    as_of: pd.Timestamp
    families: list[str]
    channels: list[str]
    columns: list[str]  # the model inputs, in the features file's order
    approx_reasons: bool

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> StoreLayout:
        events = meta["events"]
        return cls(
            as_of=pd.Timestamp(meta["as_of"]),
            families=list(meta["families"]),
            channels=list(events["channels"]),
            columns=list(events["columns"]),
            approx_reasons=meta.get("churn_reasons_method") == "approx",
        )


def customer_as_of(store_as_of: pd.Timestamp, events: Sequence[Mapping[str, Any]]) -> pd.Timestamp:
    """The day after the customer's latest event, as a publish's default as_of is the day
    after the latest transaction; never before the store's own as_of."""
    if not events:
        return store_as_of
    last = max(pd.Timestamp(e["ts"]) for e in events)
    return max(store_as_of, last.normalize() + DAY)


NAIVE_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?")


def event_times(stamps: Sequence[str]) -> np.ndarray:
    """The logged events' times (naive UTC ISO text, as validation writes them) as int64
    ns: numpy's parser, ~1 µs each; anything else through ``pd.to_datetime`` (~2-3 ms of
    format guessing per call)."""
    if all(NAIVE_ISO.fullmatch(s) for s in stamps):
        return np.array(stamps, dtype="datetime64[ns]").view("int64")
    parsed = pd.to_datetime(list(stamps)).astype("datetime64[ns]")
    return np.asarray(parsed.to_numpy().view("int64"))


def event_arrays(
    history: History, ids: Sequence[str], events: Mapping[str, Sequence[Mapping[str, Any]]],
    layout: StoreLayout,
) -> TxArrays:  # fmt: skip
    """The customers' stored transactions and then their logged events, as arrays."""
    owner, stored = history.arrays(ids, layout.families, layout.channels)
    new = [e for c in ids for e in events[c]]
    pos = {c: i for i, c in enumerate(ids)}
    ts = event_times([str(e["ts"]) for e in new])
    return TxArrays(
        ids=list(ids),
        owner=np.concatenate([owner, np.array([pos[str(e["customer_id"])] for e in new])]),
        ts=np.concatenate([stored["ts"], ts]).astype(np.int64),
        amount=np.concatenate([stored["amount"], [float(e["amount"]) for e in new]]),
        margin=np.concatenate([stored["margin"], [float(e["margin"]) for e in new]]),
        family=np.concatenate(
            [stored["family"], codes_of([e["family"] for e in new], layout.families)]
        ),
        channel=np.concatenate(
            [stored["channel"], codes_of([e["channel"] for e in new], layout.channels)]
        ),
    )


def signups_of(tx: TxArrays, customers: Mapping[str, Mapping[str, Any]]) -> dict[str, int | None]:
    """Each customer's sign-up (ns): the stored one, or for a customer the store does not
    know their first transaction (as validation treats an unknown buyer)."""
    first = np.full(len(tx.ids), np.iinfo(np.int64).max)
    np.minimum.at(first, tx.owner, tx.ts)
    return {
        c: signup_ns(customers[c]["signup_date"]) if c in customers else int(first[i])
        for i, c in enumerate(tx.ids)
    }


def as_of_groups(ids: Sequence[str], as_ofs: Mapping[str, pd.Timestamp]) -> dict:
    """Positions in ``ids`` by as_of."""
    groups: dict[pd.Timestamp, list[int]] = {}
    for i, c in enumerate(ids):
        groups.setdefault(pd.Timestamp(as_ofs[c]), []).append(i)
    return groups


def feature_rows(
    tx: TxArrays,
    customers: Mapping[str, Mapping[str, Any]],
    as_ofs: Mapping[str, pd.Timestamp],
    layout: StoreLayout,
    signups: Mapping[str, int | None],
) -> dict[str, np.ndarray]:
    """The model inputs of ``tx.ids`` (``as_ofs``' order), each at its as_of: what
    ``compute_features`` gives them, on arrays (``serving.event_features``), plus the
    stored ``attr_*`` values (a new customer has none), columns in the store's order."""
    cols: dict[str, np.ndarray] = {}
    for as_of, members in as_of_groups(tx.ids, as_ofs).items():
        part = subset(tx, members)
        values = feature_columns(part, signups, as_of, layout.families, layout.channels)
        where = np.asarray(members)
        for name, arr in values.items():
            if name not in cols:
                cols[name] = np.empty(len(tx.ids), dtype=arr.dtype)
            cols[name][where] = arr
    for col in (c for c in layout.columns if c.startswith("attr_")):
        cols[col] = pd.Series([customers.get(c, {}).get(col) for c in tx.ids]).to_numpy()
    return {c: cols[c] for c in layout.columns}


def scored_rows(
    features: pd.DataFrame | dict[str, np.ndarray],
    scorers: Mapping[str, FittedModel],
    as_ofs: Mapping[str, pd.Timestamp],
    approx_reasons: bool,
) -> list[dict[str, Any]]:
    """Store rows (materialize's columns, Python values) plus each customer's ``as_of``:
    ``score_all``'s outputs, computed on numpy columns (``serving.rowscore``; a pandas
    frame of a few rows costs 10-35 ms per model in set-up alone)."""
    from serving.batch.materialize import kept_columns  # training.segments: scikit-learn
    from serving.rowscore import score_columns

    keep = kept_columns(list(features.keys()))
    profiles = score_columns(features, scorers, keep, approx_reasons=approx_reasons)
    lists = {c: a.tolist() if a.dtype != object else list(a) for c, a in profiles.items()}
    rows = []
    for i in range(len(profiles["customer_id"])):
        row = {c: python_value(v[i]) for c, v in lists.items()}
        row["customer_id"] = str(row["customer_id"])
        row["as_of"] = as_ofs[row["customer_id"]].isoformat()
        rows.append(row)
    return rows
