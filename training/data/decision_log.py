"""The decision and feedback logs (JSON lines, one file per UTC day) as frames.

``read_decisions`` explodes each decision record to one row per shown (treated) or
withheld (control) offer, ``read_feedback`` reads the channel outcomes; both go through
Arrow's JSON reader (a torn or hand-edited line falls back to a slow, skipping path) and
make no Python object per row they do not keep. The join with what customers then did is
``training.data.outcomes``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

DEFAULT_WINDOW_DAYS = 30
TREATED, CONTROL = "treated", "control"
OUTCOMES = ("accepted", "declined", "clicked", "ignored")

_OFFER = pa.struct(
    [
        ("offer_id", pa.string()),
        ("campaign", pa.string()),
        ("rank", pa.int64()),
        ("family", pa.string()),
        ("kind", pa.string()),
        ("expected_response", pa.float64()),
        ("expected_value", pa.float64()),
        ("response_window_days", pa.float64()),
    ]
)
DECISION_SCHEMA = pa.schema(
    [
        ("decision_id", pa.string()),
        ("ts", pa.string()),
        ("endpoint", pa.string()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
        ("store_as_of", pa.string()),
        ("offers", pa.list_(_OFFER)),
        (
            "held_out",
            pa.list_(pa.struct([("campaign", pa.string()), ("offers", pa.list_(_OFFER))])),
        ),
    ]
)
FEEDBACK_SCHEMA = pa.schema(
    [
        ("decision_id", pa.string()),
        ("offer_id", pa.string()),
        ("outcome", pa.string()),
        ("ts", pa.string()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
    ]
)
# one row per shown (treated) or withheld (control) offer of a decision
DECISION_COLUMNS = [
    "decision_id", "ts", "endpoint", "customer_id", "channel", "store_as_of", "campaign",
    "offer_id", "rank", "family", "kind", "expected_response", "expected_value",
    "response_window_days", "group",
]  # fmt: skip
_STRING_FIELDS = ("decision_id", "customer_id", "channel", "endpoint", "store_as_of", "offer_id")


def _clean_lines(raw: bytes) -> tuple[bytes, int]:
    """Lines that parse as JSON objects, ids as strings; and how many were skipped.

    The slow path, used only when Arrow refuses a file: a torn last line after a crash,
    a hand-edited line, or a numeric customer id."""
    good, bad = [], 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            bad += 1
            continue
        if not isinstance(record, dict):
            bad += 1
            continue
        for name in _STRING_FIELDS:
            if record.get(name) is not None and not isinstance(record[name], str):
                record[name] = str(record[name])
        good.append(orjson.dumps(record))
    return b"\n".join(good) + b"\n", bad


def read_jsonl_table(folder: Path | str, schema: pa.Schema) -> tuple[pa.Table, int]:
    """Every ``*.jsonl`` file of ``folder`` (oldest day first) as one Arrow table with
    ``schema`` (other fields ignored), and the number of unreadable lines skipped."""
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read = pj.ReadOptions(block_size=1 << 24)
    tables, skipped = [], 0
    for path in sorted(Path(folder).glob("*.jsonl")):
        raw = path.read_bytes()
        if raw.isspace() or not raw:  # (strip() would copy the whole file)
            continue
        try:
            table = pj.read_json(io.BytesIO(raw), read_options=read, parse_options=options)
        except pa.ArrowInvalid:
            raw, bad = _clean_lines(raw)
            skipped += bad
            if raw.isspace() or not raw:
                continue
            table = pj.read_json(io.BytesIO(raw), read_options=read, parse_options=options)
        tables.append(table)
    if not tables:
        return schema.empty_table(), skipped
    return pa.concat_tables(tables), skipped


def _utc_naive(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """ISO 8601 strings as naive UTC datetime64[ns]: Arrow's parser when every value has
    an offset (the logs' format), pandas' otherwise (no offset means UTC)."""
    try:
        ts = pc.cast(values, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        return np.asarray(ts.to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pd.to_datetime(pd.Series(values.to_pylist()), utc=True, format="ISO8601")
        return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _strings(
    values: pa.Array | pa.ChunkedArray, take: np.ndarray | None = None, distinct: bool = False
) -> np.ndarray:
    """An object array of str and None, optionally gathered by ``take``.

    Dictionary-encoded first, so each distinct string becomes one Python object however
    often it repeats (campaign and offer ids, channels, customers); ``distinct`` values
    (decision ids) skip the encoding."""
    if distinct:
        words = np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
        return words if take is None else words[take]
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    words = with_none(encoded.dictionary.to_numpy(zero_copy_only=False))
    codes = encoded.indices.fill_null(len(words) - 1).to_numpy(zero_copy_only=False)
    return cast(np.ndarray, words[codes if take is None else codes[take]])


def with_none(values: np.ndarray) -> np.ndarray:
    """``values`` as an object array with one more element, None: index -1 (or the new
    last position) then reads as missing."""
    return np.concatenate([np.asarray(values, dtype=object), np.array([None], dtype=object)])


def _offer_rows(offers: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.StructArray]:
    """Parent index and the flattened offer structs of a list<struct> column."""
    if isinstance(offers, pa.ChunkedArray):
        offers = offers.combine_chunks()
    parent = pc.list_parent_indices(offers).to_numpy(zero_copy_only=False)
    return parent, pc.list_flatten(offers)


def _arrow_codes(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Dictionary codes of an Arrow column (-1 for null) and the number of distinct values."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, len(encoded.dictionary)


def _first_rows(
    customer: np.ndarray, campaign: pa.Array, offer: pa.Array, ts: np.ndarray
) -> np.ndarray:
    """Positions of each (customer, campaign, offer)'s earliest row, in time order (ties:
    the earlier row): what ``first_decisions`` keeps, computed on Arrow's codes."""
    key = customer + 1
    for codes, n in (_arrow_codes(campaign), _arrow_codes(offer)):
        key = key * (n + 1) + (codes + 1)
    order = np.argsort(ts, kind="stable")
    _, first = np.unique(key[order], return_index=True)
    return cast(np.ndarray, order[np.sort(first)])


def decisions_frame(table: pa.Table, first_only: bool = False) -> pd.DataFrame:
    """Explode decision records (Arrow, ``DECISION_SCHEMA``) to one row per shown offer
    (group ``treated``) and per withheld offer (group ``control``); with ``first_only``
    only the rows ``first_decisions`` keeps (each customer's first per campaign and offer,
    in time order), chosen before any Python object is made."""
    shown_parent, shown = _offer_rows(table.column("offers"))
    held_parent, held_items = _offer_rows(table.column("held_out"))
    inner_parent, withheld = _offer_rows(held_items.field("offers"))
    parent = np.concatenate([shown_parent, held_parent[inner_parent]]).astype(np.int64)
    offers = pa.concat_arrays([shown, withheld])
    n_shown = len(shown)
    # campaign: the entry's, else (withheld) the held_out item's, else the kind's default id
    held_campaign = pa.concat_arrays(
        [pa.nulls(n_shown, pa.string()), held_items.field("campaign").take(inner_parent)]
    )
    campaign = pc.coalesce(offers.field("campaign"), held_campaign, offers.field("kind"))
    ts = _utc_naive(table.column("ts"))
    treated = np.arange(len(parent)) < n_shown
    if first_only:
        customers, _ = _arrow_codes(table.column("customer_id"))
        keep = _first_rows(customers[parent], campaign, offers.field("offer_id"), ts[parent])
        parent, treated = parent[keep], treated[keep]
        picked = pa.array(keep)
        offers, campaign = offers.take(picked), campaign.take(picked)
    window = offers.field("response_window_days").fill_null(float(DEFAULT_WINDOW_DAYS))
    rank = offers.field("rank")

    def numbers(name: str) -> np.ndarray:
        return np.asarray(offers.field(name).to_numpy(zero_copy_only=False), dtype=np.float64)

    frame = pd.DataFrame(
        {
            "decision_id": _strings(table.column("decision_id"), parent, distinct=True),
            "ts": ts[parent],
            "endpoint": _strings(table.column("endpoint"), parent),
            "customer_id": _strings(table.column("customer_id"), parent),
            "channel": _strings(table.column("channel"), parent),
            "store_as_of": _strings(table.column("store_as_of"), parent),
            "campaign": _strings(campaign),
            "offer_id": _strings(offers.field("offer_id")),
            "rank": pd.arrays.IntegerArray(
                np.asarray(rank.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64),
                np.asarray(rank.is_null().to_numpy(zero_copy_only=False), dtype=bool),
            ),
            "family": _strings(offers.field("family")),
            "kind": _strings(offers.field("kind")),
            "expected_response": numbers("expected_response"),
            "expected_value": numbers("expected_value"),
            "response_window_days": np.asarray(window.to_numpy(zero_copy_only=False), np.float64),
            "group": np.where(treated, TREATED, CONTROL).astype(object),
        },
        copy=False,  # fresh arrays; consolidating ten object columns would copy them all
    )
    return frame


def read_decisions(folder: Path | str, first_only: bool = False) -> pd.DataFrame:
    """The decision log under ``folder`` (``YYYY-MM-DD.jsonl`` files), offers exploded to
    one row each with ``group`` treated (shown) or control (withheld); columns
    ``DECISION_COLUMNS``. A missing or empty folder gives an empty frame; unreadable lines
    (a torn last line after a crash) are skipped, and counted in ``frame.attrs["skipped"]``.
    ``first_only``: only the rows ``responses`` uses (``first_decisions``), which it
    gives the same answers from, much faster on a long log.
    """
    table, skipped = read_jsonl_table(folder, DECISION_SCHEMA)
    frame = decisions_frame(table, first_only)
    frame.attrs["skipped"] = skipped
    frame.attrs["records"] = table.num_rows
    return frame


def read_feedback(folder: Path | str) -> pd.DataFrame:
    """The channel feedback log under ``folder``: decision_id, offer_id, outcome, ts
    (naive UTC), customer_id, channel; empty when there is none."""
    table, skipped = read_jsonl_table(folder, FEEDBACK_SCHEMA)
    frame = table.to_pandas()
    frame["ts"] = _utc_naive(table.column("ts")) if len(frame) else frame["ts"].astype("M8[ns]")
    frame.attrs["skipped"] = skipped
    return cast(pd.DataFrame, frame)
