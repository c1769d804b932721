"""Test helpers that read the service's logs and offers back the way a reader would.

Production never needs these views (the monitoring and outcome readers have their own),
so they live with the tests: every complete record of a log folder, one answer's
request-log record, and the offers made to one customer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from serving.catalogue import Catalogue
from serving.contacts import ContactHistory, Instant
from serving.offers import OfferContext, RankedOffer, arbitrate
from serving.request_record import log_fragment, request_line


def read_jsonl(folder: Path) -> list[dict[str, Any]]:
    """All complete records of a log folder, oldest file first (a torn last line is skipped)."""
    out: list[dict[str, Any]] = []
    if not folder.exists():
        return out
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def request_record(
    endpoint: str,
    row: dict[str, Any],
    customer_id: str | None,
    versions: dict[str, str],
    latency_ms: float,
    cold: bool,
    ts: str = "1970-01-01T00:00:00+00:00",
) -> dict[str, Any]:
    """The log record of one answer built from the store (or scored) ``row``, as read back."""
    line = request_line(
        endpoint, customer_id, cold, log_fragment(row), orjson.dumps(versions), latency_ms, ts
    )
    return dict(orjson.loads(line))


def rank_offers(
    profile: Mapping[str, Any],
    catalogue: Catalogue,
    context: OfferContext | None = None,
    contacts: ContactHistory | None = None,
    now: Instant | None = None,
) -> list[RankedOffer]:
    """The offers ``arbitrate`` makes to one customer, best first (its ``offered``)."""
    return arbitrate(profile, catalogue, context, contacts, now).offered
