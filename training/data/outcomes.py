"""Outcomes of recorded decisions: the decision and feedback logs as frames, and the join of
every shown or withheld offer with the purchases in its response window (issue 14 spec).

The campaigns report and the uplift fit both start from ``responses``; it is pure and
vectorised (sorted keys and ``searchsorted``, no per-row Python), so a million decision
records join in seconds.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from training.data.features import slug

DEFAULT_WINDOW_DAYS = 30
TREATED, CONTROL = "treated", "control"
OUTCOMES = ("accepted", "declined", "clicked", "ignored")
ANY_FAMILY = "*"
MS_PER_DAY = 86_400_000

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
RESPONSE_COLUMNS = [
    "decision_id", "ts", "customer_id", "channel", "campaign", "offer_id", "family", "kind",
    "group", "expected_response", "expected_value", "response_window_days", "responded",
    "response_margin", "matured", "feedback",
]  # fmt: skip
_NEEDED = [c for c in DECISION_COLUMNS if c not in ("endpoint", "store_as_of", "rank")]
_STRING_FIELDS = ("decision_id", "customer_id", "channel", "endpoint", "store_as_of", "offer_id")


# --- reading the logs -----------------------------------------------------------------------


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
        if not raw.strip():
            continue
        try:
            table = pj.read_json(io.BytesIO(raw), read_options=read, parse_options=options)
        except pa.ArrowInvalid:
            raw, bad = _clean_lines(raw)
            skipped += bad
            if not raw.strip():
                continue
            table = pj.read_json(io.BytesIO(raw), read_options=read, parse_options=options)
        tables.append(table)
    if not tables:
        return schema.empty_table(), skipped
    return pa.concat_tables(tables), skipped


def _utc_naive(values: pd.Series | np.ndarray) -> pd.Series:
    """ISO 8601 strings (any offset, or none meaning UTC) as naive UTC timestamps."""
    ts = pd.to_datetime(pd.Series(values), utc=True, format="ISO8601")
    return ts.dt.tz_localize(None).astype("datetime64[ns]")


def _offer_rows(offers: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.StructArray]:
    """Parent index and the flattened offer structs of a list<struct> column."""
    if isinstance(offers, pa.ChunkedArray):
        offers = offers.combine_chunks()
    parent = pc.list_parent_indices(offers).to_numpy(zero_copy_only=False)
    return parent, pc.list_flatten(offers)


def decisions_frame(table: pa.Table) -> pd.DataFrame:
    """Explode decision records (Arrow, ``DECISION_SCHEMA``) to one row per shown offer
    (group ``treated``) and per withheld offer (group ``control``)."""
    shown_parent, shown = _offer_rows(table.column("offers"))
    held = table.column("held_out").combine_chunks()
    held_parent, held_items = _offer_rows(held)
    inner_parent, withheld = _offer_rows(held_items.field("offers"))
    held_campaign = held_items.field("campaign").to_numpy(zero_copy_only=False)
    parent = np.concatenate([shown_parent, held_parent[inner_parent]]).astype(np.int64)
    offers = pa.concat_arrays([shown, withheld])
    n_shown = len(shown)

    def field(name: str) -> np.ndarray:
        return offers.field(name).to_numpy(zero_copy_only=False)

    campaign = field("campaign").astype(object)
    from_parent = np.concatenate(
        [np.full(n_shown, None, dtype=object), held_campaign[inner_parent]]
    )
    campaign = np.where(pd.isna(campaign), from_parent, campaign)
    kind = field("kind").astype(object)
    campaign = np.where(pd.isna(campaign), kind, campaign)  # the kind's default campaign id
    window = pd.Series(field("response_window_days"), dtype="float64").fillna(DEFAULT_WINDOW_DAYS)
    rank = pd.array(offers.field("rank").to_pandas(), dtype="Int64")

    def parent_field(name: str) -> np.ndarray:
        return table.column(name).to_numpy(zero_copy_only=False)[parent]

    frame = pd.DataFrame(
        {
            "decision_id": parent_field("decision_id"),
            "ts": _utc_naive(parent_field("ts")).to_numpy(),
            "endpoint": parent_field("endpoint"),
            "customer_id": parent_field("customer_id"),
            "channel": parent_field("channel"),
            "store_as_of": parent_field("store_as_of"),
            "campaign": campaign,
            "offer_id": field("offer_id"),
            "rank": rank,
            "family": field("family"),
            "kind": kind,
            "expected_response": field("expected_response").astype(np.float64),
            "expected_value": field("expected_value").astype(np.float64),
            "response_window_days": window.to_numpy(),
            "group": np.where(np.arange(len(parent)) < n_shown, TREATED, CONTROL),
        }
    )
    return frame[DECISION_COLUMNS]


def read_decisions(folder: Path | str) -> pd.DataFrame:
    """The decision log under ``folder`` (``YYYY-MM-DD.jsonl`` files), offers exploded to
    one row each with ``group`` treated (shown) or control (withheld); columns
    ``DECISION_COLUMNS``. A missing or empty folder gives an empty frame; unreadable lines
    (a torn last line after a crash) are skipped, and counted in ``frame.attrs["skipped"]``.
    """
    table, skipped = read_jsonl_table(folder, DECISION_SCHEMA)
    frame = decisions_frame(table)
    frame.attrs["skipped"] = skipped
    frame.attrs["records"] = table.num_rows
    return frame


def read_feedback(folder: Path | str) -> pd.DataFrame:
    """The channel feedback log under ``folder``: decision_id, offer_id, outcome, ts
    (naive UTC), customer_id, channel; empty when there is none."""
    table, skipped = read_jsonl_table(folder, FEEDBACK_SCHEMA)
    frame = table.to_pandas()
    frame["ts"] = (
        _utc_naive(frame["ts"]).to_numpy() if len(frame) else frame["ts"].astype("datetime64[ns]")
    )
    frame.attrs["skipped"] = skipped
    return frame


# --- the join ---------------------------------------------------------------------------------


def last_feedback(feedback: pd.DataFrame) -> pd.DataFrame:
    """The last outcome per (decision_id, offer_id); repeats of one outcome count once."""
    fb = feedback.dropna(subset=["decision_id", "offer_id", "outcome"])
    fb = fb.drop_duplicates(["decision_id", "offer_id", "outcome"])
    if "ts" in fb:
        fb = fb.sort_values("ts", kind="stable")
    fb = fb.drop_duplicates(["decision_id", "offer_id"], keep="last")
    return fb[["decision_id", "offer_id", "outcome"]].rename(columns={"outcome": "feedback"})


def customer_codes(dec_ids: pd.Series, tx_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the customers, shared by decisions and transactions (-1: unknown).

    Decision records carry ids as strings; integer transaction ids are matched by value."""
    uniques = pd.Index(pd.unique(tx_ids))
    tx_codes = uniques.get_indexer(tx_ids)
    if pd.api.types.is_integer_dtype(uniques.dtype):
        as_number = pd.to_numeric(dec_ids, errors="coerce")
        whole = as_number.notna() & (as_number == np.floor(as_number))
        keys = pd.Series(-1, index=dec_ids.index, dtype=np.int64)
        codes = uniques.get_indexer(as_number[whole].astype(np.int64))
        keys[whole] = codes
        return keys.to_numpy(), tx_codes
    return uniques.astype(str).get_indexer(dec_ids.astype(str)), tx_codes


def data_ids(dec_ids: pd.Series, tx_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The decision ids as the data spells them (its dtype), and which were found."""
    codes, _ = customer_codes(dec_ids, tx_ids)
    uniques = pd.unique(tx_ids)
    found = codes >= 0
    return np.asarray(uniques)[np.maximum(codes, 0)], found


def _family_codes(tx_family: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Codes of the transactions' families and the slug -> code map (offers name slugs)."""
    cat = tx_family.astype("category")
    names = {slug(c): i for i, c in enumerate(cat.cat.categories)}
    return cat.cat.codes.to_numpy().astype(np.int64), names


def _window_purchases(
    row_key: np.ndarray,
    row_start: np.ndarray,
    row_window: np.ndarray,
    tx_keys: list[np.ndarray],
    tx_time: np.ndarray,
    tx_margin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, whether a transaction with its key falls in (start, start + window]
    and their total margin. Times are integer milliseconds; keys -1 never match.

    Each key is compressed to the rank of the distinct row keys, then (rank, time) is one
    int64 so that a single sorted array and two ``searchsorted`` answer every row."""
    valid = row_key >= 0
    uniq = np.unique(row_key[valid])
    n = len(row_key)
    if len(uniq) == 0 or len(tx_time) == 0:
        return np.zeros(n, dtype=bool), np.zeros(n)
    lo_t = int(row_start[valid].min())
    span = int((row_start + row_window)[valid].max()) - lo_t + 2
    if len(uniq) * span >= 2**62:
        raise ValueError("responses: too long a period for millisecond keys; split the report")
    parts_key, parts_margin = [], []
    for keys in tx_keys:
        pos = np.searchsorted(uniq, keys)
        pos = np.minimum(pos, len(uniq) - 1)
        hit = (uniq[pos] == keys) & (tx_time >= lo_t) & (tx_time < lo_t + span)
        parts_key.append(pos[hit] * span + (tx_time[hit] - lo_t))
        parts_margin.append(tx_margin[hit])
    key = np.concatenate(parts_key)
    order = np.argsort(key, kind="stable")
    key = key[order]
    cum = np.concatenate([[0.0], np.cumsum(np.concatenate(parts_margin)[order])])
    rank = np.searchsorted(uniq, np.where(valid, row_key, uniq[0]))
    base = rank * span + (row_start - lo_t)
    lo = np.searchsorted(key, base, side="right")
    hi = np.searchsorted(key, base + row_window, side="right")
    responded = valid & (hi > lo)
    margin = np.where(responded, cum[hi] - cum[lo], 0.0)
    return responded, np.round(margin, 2)


def first_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """Each customer's first decision row per (campaign, offer), in time order."""
    rows = decisions.sort_values("ts", kind="stable")
    rows = rows.drop_duplicates(["customer_id", "campaign", "offer_id"], keep="first")
    return rows.reset_index(drop=True)


def responses(
    decisions: pd.DataFrame,
    transactions: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per (decision_id, offer_id), shown and withheld, with what happened after.

    Only a customer's first decision per (campaign, offer) counts. ``responded``: a
    purchase (amount > 0) within ``response_window_days`` after the decision's ``ts``
    (strictly after it, up to and including the window's end) of the offer's family for
    cross_sell offers, of anything for retention and up_sell ones (and whenever the
    offer names no family); ``response_margin``: the margin of those purchases (the
    amount when the data has no margin). ``matured``: the data covers ts + window, i.e.
    ts + window <= ``as_of`` (default: the day after the latest transaction).
    ``feedback``: the last channel outcome for the decision and offer, or None.
    Columns ``RESPONSE_COLUMNS``; ``decisions`` as ``read_decisions`` gives it.
    """
    for column in _NEEDED:
        if column not in decisions:
            raise ValueError(f"decisions: required column {column} missing")
    for column in ("customer_id", "ts", "amount", "family"):
        if column not in transactions:
            raise ValueError(f"transactions: required column {column} missing")
    rows = first_decisions(decisions)
    if as_of is None:
        last = transactions["ts"].max() if len(transactions) else pd.NaT
        as_of = pd.Timestamp(last).normalize() + pd.Timedelta(days=1) if pd.notna(last) else None

    purchases = transactions[transactions["amount"].to_numpy() > 0]
    cust_row, cust_tx = customer_codes(rows["customer_id"], purchases["customer_id"])
    fam_tx, fam_names = _family_codes(purchases["family"])
    n_fam = len(fam_names) + 1  # the last code means "any family"
    wants_family = (rows["kind"].to_numpy() == "cross_sell") & rows["family"].notna().to_numpy()
    named = {f: fam_names.get(slug(f), -1) for f in rows["family"].dropna().unique()}
    fam_code = rows["family"].map(named).fillna(-1).to_numpy(dtype=np.int64)
    fam_row = np.where(wants_family, fam_code, n_fam - 1)
    row_key = np.where((cust_row >= 0) & (fam_row >= 0), cust_row * n_fam + fam_row, -1)
    tx_keys = [cust_tx * n_fam + fam_tx, cust_tx * n_fam + (n_fam - 1)]
    ts_ms = rows["ts"].to_numpy(dtype="datetime64[ms]").astype(np.int64)
    window_ms = np.rint(rows["response_window_days"].to_numpy(dtype=np.float64) * MS_PER_DAY)
    tx_ms = purchases["ts"].to_numpy(dtype="datetime64[ms]").astype(np.int64)
    margin_col = "margin" if "margin" in purchases else "amount"
    tx_margin = purchases[margin_col].to_numpy(dtype=np.float64)
    tx_margin = np.where(np.isnan(tx_margin), purchases["amount"].to_numpy(np.float64), tx_margin)
    responded, margin = _window_purchases(
        row_key, ts_ms, window_ms.astype(np.int64), tx_keys, tx_ms, tx_margin
    )
    ends = rows["ts"] + pd.to_timedelta(rows["response_window_days"], unit="D")
    matured = (ends <= as_of).to_numpy() if as_of is not None else np.zeros(len(rows), bool)
    out = rows.assign(responded=responded, response_margin=margin, matured=matured)
    if feedback is not None and len(feedback):
        out = out.merge(last_feedback(feedback), on=["decision_id", "offer_id"], how="left")
        out["feedback"] = out["feedback"].astype(object).where(out["feedback"].notna(), None)
    else:
        out = out.assign(feedback=None)
    return out[RESPONSE_COLUMNS]
