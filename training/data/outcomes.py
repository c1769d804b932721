"""Outcomes of recorded decisions: the join of every shown or withheld offer with the
purchases in its response window (issue 14 spec); the logs themselves are read by
``training.data.decision_log``.

The campaigns report and the uplift fit both start from ``responses``; it is pure and
vectorised (sorted keys and ``searchsorted``, no per-row Python), so a million decision
records join in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.decision_log import (
    DECISION_COLUMNS,
)
from training.data.features import slug

ANY_FAMILY = "*"
MS_PER_DAY = 86_400_000
RESPONSE_COLUMNS = [
    "decision_id", "ts", "customer_id", "channel", "campaign", "offer_id", "family", "kind",
    "group", "expected_response", "expected_value", "response_window_days", "responded",
    "response_margin", "matured", "feedback",
]  # fmt: skip
_NEEDED = [c for c in DECISION_COLUMNS if c not in ("endpoint", "store_as_of", "rank")]


# --- the join ---------------------------------------------------------------------------------


def last_feedback(feedback: pd.DataFrame) -> pd.DataFrame:
    """The last outcome per (decision_id, offer_id); repeats of one outcome count once."""
    fb = feedback.dropna(subset=["decision_id", "offer_id", "outcome"])
    fb = fb.drop_duplicates(["decision_id", "offer_id", "outcome"])
    if "ts" in fb:
        fb = fb.sort_values("ts", kind="stable")
    fb = fb.drop_duplicates(["decision_id", "offer_id"], keep="last")
    return fb[["decision_id", "offer_id", "outcome"]].rename(columns={"outcome": "feedback"})


def _match(
    dec_ids: pd.Series | np.ndarray, tx_ids: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decision ids matched to the data's: for each decision id the code of its customer
    among the data's distinct ids (-1: unknown), each data row's code, and those ids.

    Decision records carry ids as strings; integer data ids are matched by value. Only
    the distinct ids are compared, so a million rows cost two hash passes."""
    tx_codes, tx_uniques = pd.factorize(np.asarray(tx_ids))
    dec_codes, dec_uniques = pd.factorize(np.asarray(dec_ids, dtype=object))
    index = pd.Index(tx_uniques)
    if pd.api.types.is_integer_dtype(index.dtype):
        number = pd.to_numeric(pd.Series(dec_uniques, dtype=object), errors="coerce")
        whole = (number.notna() & (number == np.floor(number))).to_numpy()
        lookup = np.full(len(dec_uniques), -1, dtype=np.int64)
        lookup[whole] = index.get_indexer(number[whole].astype(np.int64))
    else:
        lookup = index.astype(str).get_indexer(pd.Index(dec_uniques).astype(str))
    matched = np.where(dec_codes >= 0, lookup[np.maximum(dec_codes, 0)], -1)
    return matched.astype(np.int64), tx_codes.astype(np.int64), np.asarray(tx_uniques)


def customer_codes(
    dec_ids: pd.Series | np.ndarray, tx_ids: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the customers, shared by decisions and data (-1: unknown)."""
    matched, tx_codes, _ = _match(dec_ids, tx_ids)
    return matched, tx_codes


def data_ids(dec_ids: pd.Series, tx_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The decision ids as the data spells them (its dtype), and which were found."""
    matched, _, uniques = _match(dec_ids, tx_ids)
    found = matched >= 0
    return uniques[np.maximum(matched, 0)] if len(uniques) else np.asarray(dec_ids), found


def _family_codes(
    rows_family: pd.Series, tx_family: pd.Series
) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes of the offers' and the transactions' families (offers name slugs; -1: none
    or unknown) and the number of families."""
    cat = tx_family.astype("category")
    names = {slug(c): i for i, c in enumerate(cat.cat.categories)}
    codes, uniques = pd.factorize(np.asarray(rows_family, dtype=object))
    lookup = np.array([names.get(slug(f), -1) for f in uniques] + [-1], dtype=np.int64)
    row_codes = lookup[np.where(codes >= 0, codes, len(uniques))]
    return row_codes, cat.cat.codes.to_numpy().astype(np.int64), len(names)


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
    in_period = (tx_time >= lo_t) & (tx_time - lo_t < span)
    for keys in tx_keys:
        pos = np.minimum(np.searchsorted(uniq, keys), len(uniq) - 1)
        hit = (uniq[pos] == keys) & in_period
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
    key = np.zeros(len(decisions), dtype=np.int64)
    for column in ("customer_id", "campaign", "offer_id"):
        codes, uniques = pd.factorize(decisions[column].to_numpy(dtype=object))
        key = key * (len(uniques) + 1) + (codes + 1)
    order = np.argsort(decisions["ts"].to_numpy(dtype="datetime64[ns]"), kind="stable")
    _, first = np.unique(key[order], return_index=True)
    keep = order[np.sort(first)]
    return pd.DataFrame({c: decisions[c].array.take(keep) for c in decisions.columns}, copy=False)


def _feedback_column(rows: pd.DataFrame, feedback: pd.DataFrame | None) -> np.ndarray:
    """The last channel outcome of each row's decision and offer, else None."""
    out = np.full(len(rows), None, dtype=object)
    if feedback is None or not len(feedback):
        return out
    fb = last_feedback(feedback)
    candidates = np.flatnonzero(rows["decision_id"].isin(fb["decision_id"]).to_numpy())
    if len(candidates) == 0:
        return out
    index = pd.MultiIndex.from_arrays([fb["decision_id"], fb["offer_id"]])
    at = index.get_indexer(
        pd.MultiIndex.from_arrays(
            [rows["decision_id"].to_numpy()[candidates], rows["offer_id"].to_numpy()[candidates]]
        )
    )
    found = at >= 0
    out[candidates[found]] = fb["feedback"].to_numpy(dtype=object)[at[found]]
    return out


def responses(
    decisions: pd.DataFrame,
    transactions: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    first_only: bool = False,
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
    Columns ``RESPONSE_COLUMNS``; ``decisions`` as ``read_decisions`` gives it
    (``first_only``: as ``read_decisions(..., first_only=True)`` gives it, already each
    customer's first decisions in time order, so they are not looked for again).
    """
    for column in _NEEDED:
        if column not in decisions:
            raise ValueError(f"decisions: required column {column} missing")
    for column in ("customer_id", "ts", "amount", "family"):
        if column not in transactions:
            raise ValueError(f"transactions: required column {column} missing")
    rows = decisions if first_only else first_decisions(decisions)
    tx_all = transactions["ts"].to_numpy(dtype="datetime64[ms]").astype(np.int64)
    if as_of is None and len(transactions):
        last = pd.Timestamp(transactions["ts"].max())
        as_of = last.normalize() + pd.Timedelta(days=1)
    ts_ms = rows["ts"].to_numpy(dtype="datetime64[ms]").astype(np.int64)
    window_ms = np.rint(rows["response_window_days"].to_numpy(np.float64) * MS_PER_DAY)
    window_ms = window_ms.astype(np.int64)
    ends = ts_ms + window_ms
    # only purchases after the earliest decision and before the latest window end matter
    amount = transactions["amount"].to_numpy(np.float64)
    keep = amount > 0
    if len(rows):
        keep &= (tx_all > ts_ms.min()) & (tx_all <= ends.max())
    take = np.flatnonzero(keep)
    cust_row, cust_tx, _ = _match(rows["customer_id"], transactions["customer_id"].to_numpy()[take])
    fam_row, fam_tx, n_families = _family_codes(rows["family"], transactions["family"])
    fam_tx = fam_tx[take]
    n_fam = n_families + 1  # the last code means "any family"
    wants_family = (rows["kind"].to_numpy() == "cross_sell") & (fam_row >= 0)
    named = rows["family"].notna().to_numpy() & (rows["kind"].to_numpy() == "cross_sell")
    fam_row = np.where(wants_family, fam_row, np.where(named, -1, n_fam - 1))
    row_key = np.where((cust_row >= 0) & (fam_row >= 0), cust_row * n_fam + fam_row, -1)
    tx_keys = [cust_tx * n_fam + fam_tx, cust_tx * n_fam + (n_fam - 1)]
    margin_col = "margin" if "margin" in transactions else "amount"
    tx_margin = transactions[margin_col].to_numpy(dtype=np.float64)[take]
    tx_margin = np.where(np.isnan(tx_margin), amount[take], tx_margin)
    responded, margin = _window_purchases(
        row_key, ts_ms, window_ms, tx_keys, tx_all[take], tx_margin
    )
    if as_of is None:
        matured = np.zeros(len(rows), dtype=bool)
    else:
        matured = ends <= pd.Timestamp(as_of).value // 1_000_000  # ns -> ms
    columns = {c: rows[c].to_numpy() for c in RESPONSE_COLUMNS[:12]}
    columns.update(
        responded=responded,
        response_margin=margin,
        matured=matured,
        feedback=_feedback_column(rows, feedback),
    )
    return pd.DataFrame(columns, copy=False)
