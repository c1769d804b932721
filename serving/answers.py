"""Answers for a batch of customers as JSON bytes: the stored profile plus this request's offers.

A ``Batch`` is the customers one request asks about, found in the file store (rows of the
store-wide offer table, profiles rendered once per customer) or given as row dicts (Redis,
/score: a small offer table per request). ``render`` applies the request's offer rules and
splices the answers; ``log_rows`` gives the flat rows the request log records, and is
meant to run on the log writer's thread, off the request path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from serving.catalogue import Catalogue
from serving.contacts import ContactHistory
from serving.offer_table import OfferTable, columns_of, offer_table
from serving.offers import RankedOffer, RequestRules, choose_offers
from serving.profile import render_profile, splice_answer
from serving.store import FileStore


@dataclass(frozen=True)
class Batch:
    customer_ids: list[str]  # the customers found, in request order
    table: OfferTable
    rows: np.ndarray  # their rows in ``table``
    profiles: list[bytes]  # their rendered profiles
    log_rows: Callable[[], list[dict[str, Any]]]
    missing: list[str]  # ids the store does not know, in request order


def from_file_store(store: FileStore, table: OfferTable, customer_ids: Sequence[str]) -> Batch:
    """Customers of the file store; ``table`` is the offer table of the whole store."""
    found, rows, missing = [], [], []
    for cid in customer_ids:
        i = store.position(cid)
        if i is None:
            missing.append(cid)
        else:
            found.append(cid)
            rows.append(i)
    profiles = [store.profile_json(i) for i in rows]
    positions = np.array(rows, dtype=np.intp)
    return Batch(found, table, positions, profiles, lambda: [store.row(i) for i in rows], missing)


def from_rows(
    rows: Sequence[dict[str, Any] | None], customer_ids: Sequence[str], catalogue: Catalogue
) -> Batch:
    """Customers given as flat row dicts (None where the store does not know the id)."""
    found = [row for row in rows if row is not None]
    missing = [cid for cid, row in zip(customer_ids, rows, strict=True) if row is None]
    table = offer_table(columns_of(found), catalogue, len(found))
    return Batch(
        [str(row["customer_id"]) for row in found],
        table,
        np.arange(len(found)),
        [render_profile(row) for row in found],
        lambda: found,
        missing,
    )


def offer_json(offer: RankedOffer) -> dict[str, Any]:
    return {
        "offer_id": offer.offer_id,
        "kind": offer.kind,
        "family": offer.family,
        "score": round(offer.score, 4),
        "expected_value": round(offer.expected_value, 4),
        "priority": offer.priority,
        "reasons": offer.reasons,
    }


def render(
    batch: Batch,
    catalogue: Catalogue,
    rules: RequestRules,
    contacts: ContactHistory | None,
    versions: dict[str, str],
    cold: bool = False,
    now_s: float | None = None,
) -> list[bytes]:
    """One JSON answer per customer found (``schemas.ProfileAnswer``)."""
    chosen = choose_offers(
        batch.table, batch.rows, batch.customer_ids, catalogue, rules, contacts, now_s
    )
    versions_json = orjson.dumps(versions)
    return [
        splice_answer(profile, versions_json, cold, orjson.dumps([offer_json(o) for o in offers]))
        for profile, offers in zip(batch.profiles, chosen, strict=True)
    ]
