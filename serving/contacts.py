"""Contact history from offer feedback: sorted timestamps per customer and offer, cheap counts."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, KeysView, Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

Instant = datetime | date | str | float | int | np.datetime64


def epoch_seconds(ts: Instant) -> float:
    """Seconds since 1970 UTC; naive datetimes and ISO strings without offset count as UTC."""
    if isinstance(ts, bool):
        raise TypeError(f"not a timestamp: {ts!r}")
    if isinstance(ts, int | float):
        return float(ts)
    if isinstance(ts, np.datetime64):
        return float(ts.astype("datetime64[us]").astype(np.int64)) / 1e6
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if not isinstance(ts, datetime):
        ts = datetime(ts.year, ts.month, ts.day)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


class ContactHistory:
    """Who was contacted with which offer and when; every feedback record counts as a contact.

    Stored as ``{customer: {offer: sorted epoch seconds}}`` plus one all-offers list per
    customer, so ``count`` is two dict lookups and a bisect. Customer ids are compared as
    strings, so 42 and "42" are the same customer.
    """

    def __init__(self) -> None:
        self._by_offer: dict[str, dict[str, list[float]]] = {}
        self._all: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> ContactHistory:
        """Build from feedback records with customer_id, offer_id and ts (channel, outcome kept
        by the caller; they do not change the count)."""
        history = cls()
        for i, rec in enumerate(records):
            try:
                cid, oid, ts = str(rec["customer_id"]), str(rec["offer_id"]), rec["ts"]
            except KeyError as exc:
                raise ValueError(f"feedback record {i} has no {exc.args[0]!r}") from None
            t = epoch_seconds(ts)
            history._by_offer.setdefault(cid, {}).setdefault(oid, []).append(t)
            history._all.setdefault(cid, []).append(t)
        for offers in history._by_offer.values():
            for times in offers.values():
                times.sort()
        for times in history._all.values():
            times.sort()
        return history

    def add(self, customer_id: object, offer_id: str, ts: Instant) -> bool:
        """Record one contact (keeps the lists sorted); False when this customer, offer and
        instant are already recorded: the same feedback record read again (another worker's
        log followed by ``serving.feedback``, or a retried request) counts once."""
        cid, t = str(customer_id), epoch_seconds(ts)
        with self._lock:
            times = self._by_offer.setdefault(cid, {}).setdefault(str(offer_id), [])
            at = bisect.bisect_left(times, t)
            if at < len(times) and times[at] == t:
                return False
            times.insert(at, t)
            bisect.insort(self._all.setdefault(cid, []), t)
        return True

    def count(self, customer_id: object, offer_id: str | None, since: Instant) -> int:
        """Contacts at or after ``since``; ``offer_id=None`` counts every offer."""
        cid = str(customer_id)
        if offer_id is None:
            times = self._all.get(cid)
        else:
            times = self._by_offer.get(cid, {}).get(str(offer_id))
        if not times:
            return 0
        return len(times) - bisect.bisect_left(times, epoch_seconds(since))

    def customers(self) -> KeysView[str]:
        """Ids of the customers with any contact (a live view: cheap membership tests)."""
        return self._all.keys()

    def __len__(self) -> int:
        return sum(len(t) for t in self._all.values())
