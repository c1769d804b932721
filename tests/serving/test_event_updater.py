"""The service's one event updater (``serving.event_updater``), in process: it computes the
rows of every worker's events while it holds the lock, the workers only follow them, a
worker computes its own while none runs, and the next updater takes what was left."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from serving.batch.materialize import materialize
from serving.event_updater import Updater
from serving.events import EventUpdates
from serving.settings import ServiceSettings
from serving.updater_lock import UpdaterLock, live_updater
from tests.serving.test_events import Loaded, _records, store_of, wait_until
from training.data.contract import CleanData


@pytest.fixture(scope="module")
def home(trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, data = trained_home
    copy = tmp_path_factory.mktemp("updater") / "home"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("events", "requests", "decisions"))
    materialize(data, ServiceSettings(home=copy))
    return copy


@pytest.fixture(scope="module")
def models(home: Path) -> Loaded:
    return Loaded(ServiceSettings(home=home))


def worker(home: Path, models: Loaded, leave: bool = True) -> EventUpdates:
    """A worker's event updates, as the service opens them (``CINTEL_EVENT_UPDATER``)."""
    s = ServiceSettings(home=home)
    updates = EventUpdates(
        s.events_dir, s.store_dir, store_of(home).meta, models, leave_to_updater=leave
    )
    updates.start()
    return updates


@contextmanager
def updater_running(home: Path, models: Loaded) -> Iterator[Updater]:
    """An updater holding the lock and running (as its process does), stopped after."""
    settings = ServiceSettings(home=home)
    lock = UpdaterLock(settings.events_dir)
    assert lock.acquire(block=False)
    updater = Updater(settings, models)
    stop = threading.Event()
    thread = threading.Thread(target=updater.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield updater
    finally:
        stop.set()
        thread.join(timeout=10)
        lock.release()


def test_the_updater_computes_every_workers_events_and_each_worker_follows(
    home: Path, models: Loaded
) -> None:
    store = store_of(home)
    c1, c2 = (str(store.row(i)["customer_id"]) for i in (21, 22))
    a, b = worker(home, models), worker(home, models)
    try:
        with updater_running(home, models) as updater:
            assert a.status()["event_updater_pid"] == os.getpid()
            a.accept(_records(store, c1, 1, "up-a"))
            b.accept(_records(store, c2, 2, "up-b"))
            wait_until(lambda: all(w.row(c) for w in (a, b) for c in (c1, c2)), timeout=10)
            assert updater.updates.updated == 2
    finally:
        a.stop()
        b.stop()
    assert a.updated == b.updated == 0  # neither worker computed a row
    assert a.followed == b.followed == 2
    second, first_a, first_b = b.row(c2), a.row(c1), b.row(c1)
    assert second is not None and first_a is not None and first_b is not None
    assert second.covers == 2 and second.row["as_of"] == "2025-07-03T00:00:00"
    assert first_a.row == first_b.row
    assert live_updater(ServiceSettings(home=home).events_dir) is None  # released at stop


def test_without_a_live_updater_a_worker_computes_and_the_next_updater_takes_what_was_left(
    home: Path, models: Loaded
) -> None:
    store = store_of(home)
    c3, c4 = (str(store.row(i)["customer_id"]) for i in (31, 32))
    events_dir = ServiceSettings(home=home).events_dir
    hung = UpdaterLock(events_dir)  # an updater that took the lock and computes nothing
    assert hung.acquire(block=False)
    a = worker(home, models)
    try:
        a.accept(_records(store, c3, 1, "left"))
        time.sleep(0.8)
        assert a.row(c3) is None and a.updated == 0  # left to the (hung) updater
        hung.release()  # it died: the worker computes what it accepted itself
        got = wait_until(lambda: a.row(c3), timeout=5)
        assert got.covers == 1 and a.updated == 1
    finally:
        a.stop()
    # a worker acknowledged an event and died before anyone computed it
    s = ServiceSettings(home=home)
    dead = EventUpdates(s.events_dir, s.store_dir, store.meta, models, leave_to_updater=True)
    dead.accept(_records(store, c4, 2, "dead"))
    with updater_running(home, models) as updater:  # the restarted updater catches up
        got = wait_until(lambda: updater.updates.row(c4), timeout=10)
    assert got.covers == 2


def test_with_the_worker_setting_a_worker_computes_its_own_even_beside_an_updater(
    home: Path, models: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of(home)
    c5 = str(store.row(41)["customer_id"])
    other = UpdaterLock(ServiceSettings(home=home).events_dir)
    assert other.acquire(block=False)
    a = worker(home, models, leave=False)  # CINTEL_EVENT_UPDATER=worker
    try:
        a.accept(_records(store, c5, 1, "own"))
        got = wait_until(lambda: a.row(c5), timeout=5)
    finally:
        a.stop()
        other.release()
    assert got.covers == 1 and a.updated == 1
    monkeypatch.setenv("CINTEL_EVENT_UPDATER", "worker")
    assert ServiceSettings().event_updater == "worker"
    monkeypatch.setenv("CINTEL_EVENT_UPDATER", "thread")
    with pytest.raises(ValueError, match="event_updater"):
        ServiceSettings()
