"""Decision records: which offers a customer was shown, and which were withheld (pure).

One JSON object per line in ``CINTEL_HOME/decisions/<UTC day>.jsonl`` (issue 14's spec),
written for every /profile, /profiles and /score answer and every customer of an outbound
list (``cintel targets``)::

    {"decision_id": "<32 hex>", "ts": "<ISO UTC>", "endpoint": "/profile",
     "channel": "web", "store_as_of": "2025-12-31", "versions": {...},
     "customer_id": "17",
     "offers": [{"rank": 1, "offer_id": ..., "campaign": ..., "family": ..., "kind": ...,
                 "expected_response": 0.12, "expected_value": 0.6,
                 "response_window_days": 30, "uplift": null}],
     "held_out": [{"campaign": "retention", "offers": [{...no rank...}]}],
     "assignment": {"retention": "control", "cross_sell": "treated"},
     "ranking": {"retention": "expected_value", "cross_sell": "uplift"}}

``decision_id`` comes first, at a fixed place, so the index (``serving.decision_index``)
reads it without parsing the line. The parts that do not depend on the request (each
offer's entry, the customer's assignment and ranking) are serialized once per customer
(``serving.answers.prepare``); a request joins bytes.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from serving.offer_table import OfferTable
from training.data.holdout import in_control

PREFIX = b'{"decision_id":"'
ID_LENGTH = 32
TREATED, CONTROL = "treated", "control"


# seeded from the OS per process: no syscall per id (os.urandom, as uuid4 calls it, is
# one, and it hands the GIL to other threads in the middle of the request path)
_RNG = random.Random(os.urandom(32))
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


_V4_MASK = (1 << 128) - 1


def new_decision_id() -> str:
    """A random UUID4 (122 random bits) as 32 hex digits."""
    return "%032x" % ((_RNG.getrandbits(128) & _V4_CLEAR) | _V4_SET)


@lru_cache(maxsize=32)
def _v4_masks(n: int) -> tuple[int, int]:
    """``_V4_CLEAR`` and ``_V4_SET`` repeated for ``n`` ids side by side in one integer."""
    clear = (_V4_CLEAR & _V4_MASK).to_bytes(16, "big") * n
    return int.from_bytes(clear, "big"), int.from_bytes(_V4_SET.to_bytes(16, "big") * n, "big")


def new_decision_ids(n: int) -> list[bytes]:
    """``n`` ids as ``new_decision_id`` makes them (ASCII bytes), drawn in one call: 128
    random bits per id, its version and variant bits set."""
    if n <= 0:
        return []
    clear, setting = _v4_masks(n)
    text = b"%0*x" % (32 * n, (_RNG.getrandbits(128 * n) & clear) | setting)
    return [text[k : k + ID_LENGTH] for k in range(0, ID_LENGTH * n, ID_LENGTH)]


_SECOND = (-1, "")  # (a second since 1970, its "YYYY-MM-DDTHH:MM:SS" in UTC)


def utc_now() -> str:
    """Now as ``datetime.now(UTC).isoformat(timespec="microseconds")`` writes it, at a
    quarter of the cost (the date and time of day are formatted once per second)."""
    global _SECOND
    now = time.time()
    second = int(now)
    if second != _SECOND[0]:
        _SECOND = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    cached, text = _SECOND
    if cached != second:  # another thread moved it on meanwhile
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{text}.{int((now - second) * 1e6):06d}+00:00"


def _num(value: float) -> float | None:
    return None if value != value else round(float(value), 6)


def offer_entry(table: OfferTable, i: int, j: int) -> dict[str, Any]:
    """Offer ``j`` for customer ``i`` as a decision record lists it (without ``rank``)."""
    offer = table.offers[j]
    _, campaign = table.campaigns[int(table.offer_campaign[j])]
    return {
        "offer_id": offer.id,
        "campaign": offer.campaign,
        "family": offer.family,
        "kind": offer.kind,
        "expected_response": _num(table.response[i, j]),
        "expected_value": _num(table.ev[i, j]),
        "response_window_days": campaign.response_window_days,
        "uplift": _num(table.uplift[i, j]),
    }


def shown_tail(entry: Mapping[str, Any]) -> bytes:
    """A shown offer's entry without its opening brace: ``ranked`` adds ``{"rank":N,``."""
    return orjson.dumps(entry)[1:]


def ranked(tails: Sequence[bytes]) -> bytes:
    """The shown offers' entries, rank 1 first, as the JSON array's contents."""
    return b",".join(b'{"rank":%d,%b' % (r, t) for r, t in enumerate(tails, 1))


def held_out_json(campaign: str, entries: Iterable[bytes]) -> bytes:
    """One ``held_out`` item: a campaign and the offers withheld from it."""
    return b'{"campaign":%b,"offers":[%b]}' % (orjson.dumps(campaign), b",".join(entries))


def assignment(table: OfferTable, customer_id: str | None) -> list[bool]:
    """Per campaign of ``table``: is the customer in its control group (never for an
    anonymous /score customer: nobody to follow up, so nothing to compare)."""
    if customer_id is None:
        return [False] * len(table.campaigns)
    return [in_control(customer_id, cid, c.holdout) for cid, c in table.campaigns]


def customer_tail(
    table: OfferTable, i: int, control: Sequence[bool]
) -> tuple[dict[str, str], bytes]:
    """The customer's ranking per campaign and the record's closing part
    ``"assignment":{...},"ranking":{...}}``."""
    ids = [cid for cid, _ in table.campaigns]
    ranking = {
        cid: "uplift" if table.by_uplift[i, c] else "expected_value" for c, cid in enumerate(ids)
    }
    groups = {cid: CONTROL if control[c] else TREATED for c, cid in enumerate(ids)}
    tail = orjson.dumps({"assignment": groups, "ranking": ranking})[1:]
    return ranking, tail


def request_head(
    endpoint: str, channel: str | None, store_as_of: str | None, versions: Mapping[str, str]
) -> bytes:
    """What every record of one request shares: ``"endpoint":...,"versions":{...}``."""
    return orjson.dumps(
        {
            "endpoint": endpoint,
            "channel": channel,
            "store_as_of": store_as_of,
            "versions": versions,
        }
    )[1:-1]


def record_line(
    decision_id: str,
    ts: str,
    head: bytes,
    customer_json: bytes,
    shown: bytes,
    held_out: bytes,
    tail: bytes,
) -> bytes:
    """One record as a JSON line (newline included)."""
    return b'%b%b","ts":"%b",%b,"customer_id":%b,"offers":[%b],"held_out":[%b],%b\n' % (
        PREFIX,
        decision_id.encode(),
        ts.encode(),
        head,
        customer_json,
        shown,
        held_out,
        tail,
    )
