"""The service's one event updater: a process that turns every logged event into its row.

``cintel serve`` starts it beside BentoML's workers (``CINTEL_EVENT_UPDATER=process``,
the default) and restarts it when it dies. The workers only accept events (append and
fsync to the shared log) and follow the row file; this process follows the log every
``POLL_S``, takes every customer with new events at each look (one batch: the fixed cost
of an update is paid once for all of them), recomputes and rescores their rows
(``serving.events.EventUpdates.update``) and appends them to the row file (and writes
them to Redis when that is the store). It holds ``events/.updater.lock``
(``serving.updater_lock``) while it runs: a worker that finds the lock free (no updater,
or it died) computes the rows of the events it accepted itself, and any process recomputes
an event left uncovered for ``REPAIR_S``; at start this process takes every uncovered
event in the log. It shares with ``cintel ingest`` how a store's event updates are opened
(``store_meta``, ``open_updates``).

    python -m serving.event_updater      # what `cintel serve` runs; SIGTERM stops it
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from serving.events import BATCH, REPAIR_S, EventUpdates, Models
from serving.settings import ServiceSettings
from serving.updater_lock import UpdaterLock

POLL_S = 0.002  # how often the updater looks for new events (one stat of the log)
RETRY_S = 1.0  # how often it retries a store or models it could not open


def store_meta(
    settings: ServiceSettings,
) -> tuple[dict[str, Any], Callable[[list[dict[str, Any]]], None] | None]:
    """The store's meta (the file store's without loading its rows), and how to write
    rows to it directly (Redis; the file store's workers follow the row file)."""
    from serving.store import RedisStore, open_store

    s = settings
    if s.store == "file":
        path = s.store_dir / "meta.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no online store; run `cintel materialize` first")
        return orjson.loads(path.read_bytes()), None
    store = open_store(s.store, s.store_dir, s.redis_url, s.redis_prefix)
    return store.meta, store.put_many if isinstance(store, RedisStore) else None


def open_updates(settings: ServiceSettings, models: Models) -> EventUpdates:
    """The event updates of the configured store, computed with ``models``."""
    meta, write = store_meta(settings)
    return EventUpdates(
        settings.events_dir,
        settings.store_dir,
        meta,
        models,
        redis_write=write,
        tier_value=settings.tier_value,
    )


def reopened(settings: ServiceSettings, models: Models, updates: EventUpdates) -> EventUpdates:
    """``updates``, or new ones when the store was published again (a new history)."""
    meta, _ = store_meta(settings)
    if meta.get("events", {}).get("history") == updates.history.name:
        return updates
    return open_updates(settings, models)


class Updater:
    """Every new logged event's customer, recomputed at the next look, in batches."""

    def __init__(self, settings: ServiceSettings, models: Models) -> None:
        self.settings = settings
        self.models = models
        self.updates = open_updates(settings, models)
        self.cycles = 0

    def catch_up(self) -> int:
        """Start counting arrivals, then update every customer the log leaves uncovered
        (events of a predecessor that died, or logged while none ran); returns how many."""
        updates = self.updates
        updates.log.arrivals()  # from here on every event taken in is an arrival
        return self._update(updates.uncovered(older_than=0.0))

    def cycle(self) -> int:
        """One look at the log: the customers whose new events no row covers yet, updated
        in one batch (``BATCH`` at most per scoring call); returns how many."""
        updates = self.updates
        if updates.log.grown():
            updates.log.refresh()
        todo = updates.log.arrivals()
        if not todo:
            return 0
        updates.follow()  # rows another process computed meanwhile (cintel ingest)
        todo = [c for c in todo if not updates.covers_all(c)]
        self.cycles += 1
        return self._update(todo)

    def _update(self, todo: list[str]) -> int:
        done = 0
        for start in range(0, len(todo), BATCH):
            done += len(self.updates.update(todo[start : start + BATCH]))
        return done

    def run(self, stop: threading.Event, poll_s: float = POLL_S) -> None:
        """Update until ``stop``: new events at every look, a repair pass every
        ``REPAIR_S / 4`` (failed updates, rows of other models), a new publish at each
        of the settings' polls."""
        self.catch_up()
        last_repair = last_poll = time.monotonic()
        reload_s = self.settings.poll_seconds
        while not stop.wait(poll_s):
            self.cycle()
            now = time.monotonic()
            if now - last_repair >= REPAIR_S / 4:
                last_repair = now
                self._update(self.updates.uncovered())
            if reload_s > 0 and now - last_poll >= reload_s:
                last_poll = now
                self._reload()

    def _reload(self) -> None:
        try:
            updates = reopened(self.settings, self.models, self.updates)
        except Exception as exc:  # keep the last good store; /status of the workers shows it
            self.updates.error = f"reopening the store: {type(exc).__name__}: {exc}"
            return
        if updates is not self.updates:
            self.updates = updates
            self.catch_up()


def _say(message: str) -> None:
    print(f"cintel event updater: {message}", file=sys.stderr, flush=True)


def _models(settings: ServiceSettings, stop: threading.Event) -> Any:
    """The champions as the workers load them (local cache first, then the registry)."""
    from serving.follower import PACKAGED_DIR, ModelManager
    from serving.scoring import smoke_test

    models = ModelManager(
        settings.model_cache_dir, settings.tracking_uri, smoke_test, packaged=PACKAGED_DIR
    )
    models.load_cache()
    models.refresh()
    while not models.ready and not stop.wait(RETRY_S):
        models.refresh()
    models.start(settings.poll_seconds)
    return models


def main() -> None:
    """Run the updater until SIGTERM or SIGINT (``cintel serve`` supervises it)."""
    from serving import heap
    from serving.events import NoHistory
    from serving.settings import get_service_settings

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = get_service_settings()
    heap.configure(settings.gc)
    models = _models(settings, stop)
    updater: Updater | None = None
    said = None
    while updater is None and not stop.is_set():
        try:
            updater = Updater(settings, models)
        except (NoHistory, OSError, KeyError, ValueError) as exc:  # no store, a Spark store
            if str(exc) != said:
                said = str(exc)
                _say(f"waiting for a store events can be applied to: {exc}")
            stop.wait(RETRY_S)
    lock = UpdaterLock(settings.events_dir)
    while updater is not None and not stop.is_set() and not lock.acquire(block=False):
        stop.wait(0.05)  # another updater runs on this home (a second service)
    if updater is None or stop.is_set():
        return
    heap.settle(settings.gc)
    _say(f"updating rows from {settings.events_dir}")
    try:
        updater.run(stop)
    finally:
        lock.release()


if __name__ == "__main__":
    main()
