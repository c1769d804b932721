"""``cintel ingest`` against a real redis-server: consumer group, at-least-once, idempotent,
the Redis store updated directly and the file store through the row file."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving.batch.materialize import materialize
from serving.events import EventUpdates
from serving.ingest import Ingest
from serving.settings import ServiceSettings, get_service_settings
from serving.store import FileStore, RedisStore
from tests.serving.test_events import Loaded
from tests.serving.test_redis_store import redis_url  # noqa: F401  (the real redis fixture)
from training.data.contract import CleanData


@pytest.fixture(scope="module")
def ingest_home(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CleanData]:
    home, data = trained_home
    copy = tmp_path_factory.mktemp("ingest-home") / "home"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("events", "requests", "decisions"))
    materialize(data, ServiceSettings(home=copy))
    return copy, data


@pytest.fixture
def settings(
    ingest_home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServiceSettings]:
    home, _ = ingest_home
    monkeypatch.setenv("CINTEL_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    get_service_settings.cache_clear()
    yield ServiceSettings()
    get_service_settings.cache_clear()


def entry(store: FileStore, eid: str, cid: str, **over: Any) -> Any:
    fields = {
        "event_id": eid,
        "customer_id": cid,
        "ts": "2025-07-02T12:00:00",
        "amount": "30.0",
        "family": store.meta["families"][1],
        "channel": store.meta["events"]["channels"][0],
    }
    return {**fields, **over}


def run_for(ingest: Ingest, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=ingest.run, args=(stop,), kwargs={"block_ms": 100})
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=30)


def test_stream_entries_update_the_file_store_once_each_and_are_acknowledged(
    settings: ServiceSettings,
    redis_url: str,  # noqa: F811
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    store = FileStore.load(settings.store_dir)
    cid = str(store.row(21)["customer_id"])
    stream = "tx-file"
    client.xadd(stream, entry(store, "s1", cid))
    client.xadd(stream, entry(store, "s1", cid))  # a producer's retry: same event id
    client.xadd(stream, {"event": json.dumps(entry(store, "s2", cid, amount=12.5))})
    client.xadd(stream, entry(store, "s3", cid, amount="lots"))  # bad: acknowledged, counted
    said: list[str] = []
    ingest = Ingest(settings, stream, "cintel", "c1", redis_url, say=said.append)
    run_for(ingest, 3.0)
    assert (ingest.stats.read, ingest.stats.accepted) == (4, 2)
    assert (ingest.stats.duplicates, ingest.stats.rejected) == (1, 1)
    assert any("bad amount" in line and "lots" not in line for line in said), said
    assert client.xpending(stream, "cintel")["pending"] == 0
    # a worker of the service takes the row ingest computed from the row file
    worker = EventUpdates(settings.events_dir, settings.store_dir, store.meta, Loaded(settings))
    worker.follow()
    row = worker.row(cid)
    assert row is not None and row.covers == 2 and row.row["as_of"] == "2025-07-03T00:00:00"
    assert worker.updated == 0


def test_entries_delivered_but_not_acknowledged_are_applied_after_a_restart(
    settings: ServiceSettings,
    redis_url: str,  # noqa: F811
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    store = FileStore.load(settings.store_dir)
    cid = str(store.row(22)["customer_id"])
    stream = "tx-crash"
    client.xgroup_create(stream, "cintel", id="0", mkstream=True)
    client.xadd(stream, entry(store, "k1", cid))
    # a consumer that read the entry and died before its XACK
    assert client.xreadgroup("cintel", "c9", {stream: ">"}, count=10)
    assert client.xpending(stream, "cintel")["pending"] == 1
    again = Ingest(settings, stream, "cintel", "c9", redis_url)
    run_for(again, 2.0)
    assert again.stats.accepted == 1
    assert client.xpending(stream, "cintel")["pending"] == 0
    # and a redelivery of an event already applied changes nothing
    client.xadd(stream, entry(store, "k1", cid))
    run_for(again, 1.5)
    assert (again.stats.accepted, again.stats.duplicates) == (1, 1)


def test_the_redis_store_gets_the_new_row(
    settings: ServiceSettings,
    ingest_home: tuple[Path, CleanData],
    redis_url: str,  # noqa: F811
) -> None:
    import redis

    _, data = ingest_home
    redis_settings = settings.model_copy(
        update={"store": "redis", "redis_url": redis_url, "redis_prefix": "ev"}
    )
    materialize(data, redis_settings, backend="redis")
    store = RedisStore(redis_url, "ev")
    cid = str(FileStore.load(settings.store_dir).row(23)["customer_id"])
    before = store.get(cid)
    assert before is not None and before["as_of"] == store.meta["as_of"]
    stream = "tx-redis"
    redis.Redis.from_url(redis_url).xadd(
        stream, entry(FileStore.load(settings.store_dir), "r1", cid)
    )
    ingest = Ingest(redis_settings, stream, "cintel", "c1", redis_url)
    run_for(ingest, 2.5)
    after = store.get(cid)
    assert after is not None and after["as_of"] == "2025-07-03T00:00:00"
    assert after["frequency"] == before["frequency"] + 1
