"""``cintel ingest``: transactions from a Redis Stream, applied as ``POST /events`` applies them.

A consumer in a consumer group reads entries (one transaction each: the event's fields as
stream fields, or one ``event`` field holding its JSON), validates them with the same
checks, stores the new ones in the durable event log, updates their customers' rows
(``serving.events.EventUpdates``: the Redis store directly; the file store through the
row file every worker follows) and only then XACKs them. An entry delivered but not
acknowledged (the consumer died) is read again on restart, and one idle on a dead
consumer for ``CLAIM_IDLE_MS`` is claimed, so delivery is at least once; the event log
stores an event id once, so a redelivery changes nothing. A bad entry is acknowledged and
counted, with its entry id and field (no values, no customer id).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from serving.errors import dotted
from serving.event_input import Event, EventError, validate_events
from serving.event_updater import open_updates, reopened
from serving.follower import load_all_champions
from serving.scoring import smoke_test
from serving.settings import ServiceSettings

CLAIM_IDLE_MS = 60_000
READ_COUNT = 500


@dataclass
class IngestStats:
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def parse_entry(fields: dict[bytes, bytes]) -> Event:
    """One stream entry as an event (pydantic ValidationError when its shape is wrong)."""
    if b"event" in fields:
        return Event.model_validate(orjson.loads(fields[b"event"]))
    return Event.model_validate({k.decode(): v.decode() for k, v in fields.items()})


class Ingest:
    """One consumer of one stream's group, applying entries to the configured store."""

    def __init__(
        self,
        settings: ServiceSettings,
        stream: str,
        group: str,
        consumer: str,
        redis_url: str,
        say: Callable[[str], None] = lambda _m: None,
    ) -> None:
        import redis

        self.settings, self.stream, self.group, self.consumer = settings, stream, group, consumer
        self.say = say
        self.client: Any = redis.Redis.from_url(
            redis_url, socket_timeout=10, socket_connect_timeout=2
        )
        try:
            self.client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise ValueError(f"redis stream {stream!r}: {exc}") from exc
        except redis.ConnectionError as exc:
            raise LookupError(f"redis {redis_url}: cannot connect ({exc})") from exc
        self.models = load_all_champions(
            settings.model_cache_dir, settings.tracking_uri, smoke_test
        )
        self.updates = open_updates(settings, self.models)
        self.stats = IngestStats()

    def run(self, stop: threading.Event, block_ms: int = 1000, poll_s: float = 30.0) -> IngestStats:
        """Consume until ``stop`` is set: first this consumer's unacknowledged entries,
        then those claimed from dead consumers, then new ones."""
        self._drain("0")
        last_poll = time.monotonic()
        while not stop.is_set():
            claimed = self.client.xautoclaim(
                self.stream, self.group, self.consumer, CLAIM_IDLE_MS, "0-0", count=READ_COUNT
            )
            if claimed and claimed[1]:
                self._apply(claimed[1])
            got = self.client.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, count=READ_COUNT, block=block_ms
            )
            for _stream, entries in got or []:
                self._apply(entries)
            if time.monotonic() - last_poll >= poll_s:  # new champions, a new publish
                last_poll = time.monotonic()
                self.models.refresh()
                self._reopen()
        return self.stats

    def _reopen(self) -> None:
        self.updates = reopened(self.settings, self.models, self.updates)

    def _drain(self, start: str) -> None:
        while True:
            got = self.client.xreadgroup(
                self.group, self.consumer, {self.stream: start}, count=READ_COUNT
            )
            entries = [e for _s, batch in got or [] for e in batch]
            if not entries:
                return
            gone = [entry_id for entry_id, fields in entries if not fields]  # trimmed away
            if gone:
                self.client.xack(self.stream, self.group, *gone)
            self._apply([e for e in entries if e[1]])

    def _apply(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Validate, store durably, update the rows, then acknowledge the entries."""
        self.stats.read += len(entries)
        good = self._valid(entries)
        now = time.time()
        fresh = self.updates.accept([{**r, "received": now} for r in good])
        self.stats.accepted += len(fresh)
        self.stats.duplicates += len(good) - len(fresh)
        if fresh:
            rows = self.updates.update(list(dict.fromkeys(str(r["customer_id"]) for r in fresh)))
            self.stats.updated += len(rows)
            if self.updates.error:
                self.say(f"update failed (the events are logged; retried): {self.updates.error}")
        ids = [entry_id for entry_id, _ in entries]
        if ids:
            self.client.xack(self.stream, self.group, *ids)

    def _valid(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[dict[str, Any]]:
        """The entries' clean records: all at once, or one by one when some are bad."""
        layout = self.updates.input_layout
        try:
            return validate_events([parse_entry(f) for _, f in entries], layout)
        except (ValidationError, EventError, orjson.JSONDecodeError):
            pass
        good: list[dict[str, Any]] = []
        for entry_id, fields in entries:
            try:
                good += validate_events([parse_entry(fields)], layout)
            except ValidationError as exc:
                errors = exc.errors()
                loc = dotted(errors[0].get("loc") or ()) if errors else None
                self._reject(entry_id, loc or "entry")
            except EventError as exc:
                self._reject(entry_id, (exc.field or "entry").replace("events[0].", ""))
            except orjson.JSONDecodeError:
                self._reject(entry_id, "event (not JSON)")
        return good

    def _reject(self, entry_id: bytes, where: str) -> None:
        self.stats.rejected += 1
        self.say(f"rejected entry {entry_id.decode()}: bad {where}")
