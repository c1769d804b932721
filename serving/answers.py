"""Answers for a batch of customers as JSON bytes: the stored profile plus this request's offers.

Most of an answer does not depend on the request: the profile, the offers the static rules
allow (in their order, with their reasons) and the customer's part of the request-log line.
``prepare`` renders those once per customer; ``StoreAnswers`` keeps them for the file store
(memory grows with the customers asked about, about 3 KB each), and row dicts (Redis,
/score) are prepared per request. ``render`` then applies what the request changes
(channel, basket, exclusions, contact caps) and splices bytes; ``log_lines`` builds the
request-log lines on the log writer's thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from serving.catalogue import Catalogue
from serving.contacts import ContactHistory
from serving.offer_table import OK, OfferTable, columns_of, offer_table
from serving.offers import RankedOffer, RequestRules, contact_cap_reason, made_offer, offer_order
from serving.profile import render_profile, splice_answer
from serving.request_record import log_fragment, request_line
from serving.store import FileStore


@dataclass(frozen=True)
class Prepared:
    """What every answer about one customer shares."""

    profile: bytes
    offers: tuple[tuple[int, bytes], ...]  # (catalogue index, JSON) the static rules allow
    log: bytes  # the customer's part of a request-log line


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


def prepare(table: OfferTable, i: int, row: dict[str, Any]) -> Prepared:
    """Row ``i`` of ``table`` (the customer ``row``) rendered for every future answer."""
    allowed = np.flatnonzero((table.blocked[i] == OK) & (table.ev[i] > 0)).tolist()
    made = [(j, made_offer(table, i, j)) for j in allowed]
    made.sort(key=lambda pair: offer_order(pair[1]))  # stable: catalogue order on ties
    offers = tuple((j, orjson.dumps(offer_json(o))) for j, o in made)
    return Prepared(render_profile(row), offers, log_fragment(row))


class StoreAnswers:
    """The file store with its offer table; customers are prepared on first request."""

    def __init__(self, store: FileStore, catalogue: Catalogue) -> None:
        self.store = store
        self.table = offer_table(store.columns(), catalogue, len(store))
        self._prepared: list[Prepared | None] = [None] * len(store)
        self.prepared = 0  # customers prepared so far (/status shows it: memory grows with it)

    def get(self, i: int) -> Prepared:
        prepared = self._prepared[i]
        if prepared is None:
            prepared = self._prepared[i] = prepare(self.table, i, self.store.row(i))
            self.prepared += 1
        return prepared


@dataclass(frozen=True)
class Batch:
    customer_ids: list[str]  # the customers found, in request order
    prepared: list[Prepared]
    missing: list[str]  # ids the store does not know, in request order


def from_store(answers: StoreAnswers, customer_ids: Sequence[str]) -> Batch:
    found, prepared, missing = [], [], []
    for cid in customer_ids:
        i = answers.store.position(cid)
        if i is None:
            missing.append(cid)
        else:
            found.append(cid)
            prepared.append(answers.get(i))
    return Batch(found, prepared, missing)


def from_rows(
    rows: Sequence[dict[str, Any] | None], customer_ids: Sequence[str], catalogue: Catalogue
) -> Batch:
    """Customers given as flat row dicts (None where the store does not know the id)."""
    found = [row for row in rows if row is not None]
    missing = [cid for cid, row in zip(customer_ids, rows, strict=True) if row is None]
    table = offer_table(columns_of(found), catalogue, len(found))
    prepared = [prepare(table, i, row) for i, row in enumerate(found)]
    return Batch([str(row["customer_id"]) for row in found], prepared, missing)


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
    allowed = rules.allowed.tolist()
    known = contacts.customers() if contacts is not None else {}.keys()
    versions_json = orjson.dumps(versions)
    out = []
    for cid, prepared in zip(batch.customer_ids, batch.prepared, strict=True):
        offers = [js for j, js in prepared.offers if allowed[j]]
        if cid in known and offers:
            now = now_s if now_s is not None else time.time()
            offers = [
                js
                for j, js in prepared.offers
                if allowed[j] and contact_cap_reason(catalogue, contacts, cid, j, now) is None
            ]
        out.append(
            splice_answer(prepared.profile, versions_json, cold, b"[%b]" % b",".join(offers))
        )
    return out


def log_lines(
    endpoint: str, batch: Batch, versions: dict[str, str], latency_ms: float, cold: bool = False
) -> Callable[[str], list[bytes]]:
    """The request-log lines of ``batch``, built when called with the request's time."""
    versions_json = orjson.dumps(versions)
    ids, prepared = batch.customer_ids, batch.prepared

    def make(ts: str) -> list[bytes]:
        return [
            request_line(endpoint, cid, cold, p.log, versions_json, latency_ms, ts)
            for cid, p in zip(ids, prepared, strict=True)
        ]

    return make
