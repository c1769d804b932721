"""Answers for a batch of customers as JSON bytes: the stored profile plus this request's offers.

Most of an answer does not depend on the request: the profile, the offers the static rules
allow (in their order, with their reasons), the customer's control groups (the offers of a
campaign the customer is held out of are withheld, not shown), their decision-record
entries and the customer's part of the request-log line. ``prepare`` renders those once
per customer; ``StoreAnswers`` keeps them for the file store (memory grows with the
customers asked about, about 4 KB each), and row dicts (Redis, /score) are prepared per
request. ``render`` then applies what the request changes (channel, basket, exclusions,
contact caps), splices bytes and, given a ``Decisions``, adds a decision id to each answer
and builds its decision record (``serving.decisions``). What a customer's answer and record
get under one set of request rules (offers shown, withheld, ranked) is spliced once and
kept with the customer (``Prepared.spliced``; a customer with contacts is checked against
the caps per request). ``log_block`` builds the request-log lines of an answer in one join.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from serving import decisions
from serving.catalogue import Catalogue
from serving.contacts import ContactHistory
from serving.offer_table import OK, OfferTable, columns_of, offer_table
from serving.offers import RankedOffer, RequestRules, contact_cap_reason, made_offer, offer_order
from serving.profile import render_profile
from serving.request_record import log_fragment, request_lines
from serving.store import FileStore

Withheld = tuple[tuple[int, bytes], ...]  # (catalogue index, decision entry JSON)


# (offers JSON array, the decision record from its "customer_id" value to its newline)
Spliced = tuple[bytes, bytes]
SPLICES_KEPT = 8  # per customer: the offer sets of that many request rules (usually one)


@dataclass(frozen=True)
class Prepared:
    """What every answer about one customer shares."""

    # the answer up to its "model_versions": the profile, the customer's "held_out"
    # campaigns and "ranking", without the closing brace
    profile: bytes
    # (catalogue index, answer JSON, decision entry tail) of the offers the static rules
    # allow, in order, but those of a campaign the customer is held out of
    offers: tuple[tuple[int, bytes, bytes], ...]
    withheld: tuple[tuple[str, Withheld], ...]  # per control campaign, its allowed offers
    customer_json: bytes  # the customer id as the decision record has it (null: anonymous)
    decision_tail: bytes  # the record's "assignment" and "ranking"
    log: bytes  # the customer's part of a request-log line
    mask: int = 0  # a bit per catalogue offer in ``offers`` or ``withheld``
    # the offers and record parts of the request rules seen, by the bits of ``mask`` they
    # block (no contact cap): a request then joins bytes (``render``)
    spliced: dict[int, Spliced] = field(default_factory=dict, compare=False, repr=False)


def offer_json(offer: RankedOffer) -> dict[str, Any]:
    return {
        "offer_id": offer.offer_id,
        "campaign": offer.campaign,
        "kind": offer.kind,
        "family": offer.family,
        "score": round(offer.score, 4),
        "expected_value": round(offer.expected_value, 4),
        "uplift": None if offer.uplift is None else round(offer.uplift, 4),
        "priority": offer.priority,
        "reasons": offer.reasons,
    }


def prepare(
    table: OfferTable, i: int, row: dict[str, Any], customer_id: str | None = ""
) -> Prepared:
    """Row ``i`` of ``table`` (the customer ``row``) rendered for every future answer.
    ``customer_id`` None: an anonymous /score customer (in no control group); "" (the
    default): the row's own id."""
    if customer_id == "":
        customer_id = str(row["customer_id"])
    allowed = np.flatnonzero((table.blocked[i] == OK) & (table.score[i] > 0)).tolist()
    made = [(j, made_offer(table, i, j)) for j in allowed]
    made.sort(key=lambda pair: offer_order(pair[1]))  # stable: catalogue order on ties
    control = decisions.assignment(table, customer_id)
    campaign_of = table.offer_campaign.tolist()
    offers = tuple(
        (j, orjson.dumps(offer_json(o)), decisions.shown_tail(decisions.offer_entry(table, i, j)))
        for j, o in made
        if not control[campaign_of[j]]
    )
    withheld = tuple(
        (
            cid,
            tuple(
                (j, orjson.dumps(decisions.offer_entry(table, i, j)))
                for j, _ in made
                if campaign_of[j] == c
            ),
        )
        for c, (cid, _) in enumerate(table.campaigns)
        if control[c]
    )
    ranking, tail = decisions.customer_tail(table, i, control)
    held = orjson.dumps({"held_out": [cid for cid, _ in withheld], "ranking": ranking})
    profile = render_profile(row)[:-1] + b"," + held[1:-1]
    mask = 0
    for j in [j for j, _, _ in offers] + [j for _, entries in withheld for j, _ in entries]:
        mask |= 1 << j
    customer_json = orjson.dumps(customer_id)
    return Prepared(profile, offers, withheld, customer_json, tail, log_fragment(row), mask)


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
    rows: Sequence[dict[str, Any] | None],
    customer_ids: Sequence[str],
    catalogue: Catalogue,
    anonymous: bool = False,
) -> Batch:
    """Customers given as flat row dicts (None where the store does not know the id);
    ``anonymous``: a /score payload without a customer id (no control group)."""
    found = [row for row in rows if row is not None]
    missing = [cid for cid, row in zip(customer_ids, rows, strict=True) if row is None]
    table = offer_table(columns_of(found), catalogue, len(found))
    who = None if anonymous else ""
    prepared = [prepare(table, i, row, who) for i, row in enumerate(found)]
    return Batch([str(row["customer_id"]) for row in found], prepared, missing)


@dataclass
class Decisions:
    """Collects the decision records of one request's answers (``render`` fills ``lines``)."""

    head: bytes  # serving.decisions.request_head
    ts: str  # the request's time (UTC, ISO 8601): every record of the request has it
    lines: list[bytes] = field(default_factory=list)


def render(
    batch: Batch,
    catalogue: Catalogue,
    rules: RequestRules,
    contacts: ContactHistory | None,
    versions: dict[str, str],
    cold: bool = False,
    now_s: float | None = None,
    decided: Decisions | None = None,
) -> list[bytes]:
    """One JSON answer per customer found (``schemas.ProfileAnswer``). With ``decided``,
    each answer gets a new ``decision_id`` and its record is appended to ``decided.lines``;
    without, ``decision_id`` is null (decision logging off). A customer's offers and record
    parts under the same rules are spliced once and kept (``Prepared.spliced``) unless a
    contact cap may apply (a customer with contacts: checked per request)."""
    allowed = rules.allowed.tolist()
    blocked = 0
    for j, ok in enumerate(allowed):
        if not ok:
            blocked |= 1 << j
    known = contacts.customers() if contacts is not None else {}.keys()
    head = b',"model_versions":%b,"cold_start":%b,"offers":' % (
        orjson.dumps(versions),
        b"true" if cold else b"false",
    )
    ids: list[bytes] = []
    mid = b""
    if decided is not None:
        ids = decisions.new_decision_ids(len(batch.prepared))
        mid = b'","ts":"%b",%b,"customer_id":' % (decided.ts.encode(), decided.head)
    out = []
    for k, (cid, prepared) in enumerate(zip(batch.customer_ids, batch.prepared, strict=True)):
        if cid in known and (prepared.offers or prepared.withheld):
            now = now_s if now_s is not None else time.time()

            def ok(j: int, cid: str = cid, now: float = now) -> bool:
                return allowed[j] and contact_cap_reason(catalogue, contacts, cid, j, now) is None

            offers_json, record = _splice(prepared, ok)
        else:
            key = prepared.mask & blocked
            parts = prepared.spliced.get(key)
            if parts is None:
                if len(prepared.spliced) >= SPLICES_KEPT:
                    prepared.spliced.clear()
                parts = prepared.spliced[key] = _splice(prepared, allowed.__getitem__)
            offers_json, record = parts
        if decided is None:
            out.append(b"".join((prepared.profile, head, offers_json, b',"decision_id":null}')))
            continue
        did = ids[k]
        out.append(b"".join((prepared.profile, head, offers_json, b',"decision_id":"', did, b'"}')))
        decided.lines.append(b"".join((decisions.PREFIX, did, mid, record)))
    return out


def _splice(prepared: Prepared, check: Callable[[int], bool]) -> Spliced:
    """The offers ``check`` lets through: the answer's offers array and the decision
    record's part from the customer id on (``decisions.record_line``'s layout)."""
    shown = [(js, dec) for j, js, dec in prepared.offers if check(j)]
    offers_json = b"[%b]" % b",".join(js for js, _ in shown)
    held = b",".join(
        decisions.held_out_json(campaign, (e for j, e in entries if check(j)))
        for campaign, entries in prepared.withheld
    )
    record = b'%b,"offers":[%b],"held_out":[%b],%b\n' % (
        prepared.customer_json,
        decisions.ranked([dec for _, dec in shown]),
        held,
        prepared.decision_tail,
    )
    return offers_json, record


def log_block(
    endpoint: str,
    batch: Batch,
    versions: dict[str, str],
    latency_ms: float,
    ts: str,
    cold: bool = False,
) -> bytes:
    """The request-log lines of ``batch`` (newline-terminated), one per customer."""
    fragments = [p.log for p in batch.prepared]
    versions_json = orjson.dumps(versions)
    return request_lines(
        endpoint, batch.customer_ids, fragments, cold, versions_json, latency_ms, ts
    )


def log_lines(
    endpoint: str, batch: Batch, versions: dict[str, str], latency_ms: float, cold: bool = False
) -> Callable[[str], list[bytes]]:
    """The request-log lines of ``batch`` (``log_block``), built when called with the
    request's time."""

    def make(ts: str) -> list[bytes]:
        return log_block(endpoint, batch, versions, latency_ms, ts, cold).split(b"\n")[:-1]

    return make
