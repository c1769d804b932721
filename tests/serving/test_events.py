"""POST /events: contract validation, idempotency, the incremental update and its sharing.

The home is a copy of the trained one (the events log must not reach the other tests'
store); the service runs in-process through its ASGI app, and two ``EventUpdates`` on one
folder stand for two workers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from starlette.testclient import TestClient

from serving import event_input
from serving.batch.materialize import load_champions, materialize
from serving.event_history import fold_events
from serving.event_input import Event, Layout, validate_events
from serving.events import EventUpdates
from serving.settings import ServiceSettings, get_service_settings
from serving.store import FileStore
from tests.serving.asgi import service_app
from tests.serving.own_home import point_service_at
from training.data.contract import CleanData


@pytest.fixture(scope="module")
def events_home(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CleanData]:
    home, data = trained_home
    copy = tmp_path_factory.mktemp("events-home") / "home"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("events", "requests", "decisions"))
    return copy, data


@pytest.fixture
def events_env(events_home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch) -> Path:
    home, _ = events_home
    point_service_at(monkeypatch, home)
    return home


@pytest.fixture
def client(events_env: Path) -> Iterator[TestClient]:
    with TestClient(app=service_app()) as c:
        for _ in range(200):
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        yield c
    get_service_settings.cache_clear()


def store_of(home: Path) -> FileStore:
    return FileStore.load(home / "store")


def event(eid: str, customer_id: str, store: FileStore, **over: Any) -> dict[str, Any]:
    body = {
        "event_id": eid,
        "customer_id": customer_id,
        "ts": "2025-07-02T10:30:00Z",
        "amount": 42.5,
        "family": store.meta["families"][0],
        "channel": store.meta["events"]["channels"][0],
        "margin": 12.0,
    }
    return {**body, **over}


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"not within {timeout} s")


def test_an_event_updates_the_profile_with_the_customers_own_as_of(
    client: TestClient, events_env: Path
) -> None:
    store = store_of(events_env)
    cid = str(store.row(101)["customer_id"])
    before = client.post("/profile", json={"customer_id": cid}).json()
    assert before["as_of"] == store.meta["as_of"]
    answer = client.post("/events", json={"events": [event("t1-a", cid, store)]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0, "customers": 1}

    def updated() -> dict[str, Any] | None:
        body = client.post("/profile", json={"customer_id": cid}).json()
        return body if body["as_of"] != before["as_of"] else None

    after = wait_until(updated)
    assert after["as_of"] == "2025-07-03T00:00:00"  # the day after the event
    assert after["rfm"] != before["rfm"] or after["clv"] != before["clv"]
    status = client.post("/status", json={}).json()
    assert status["customers_updated_by_events"] >= 1 and status["event_update_error"] is None


def test_the_same_event_id_is_stored_once(client: TestClient, events_env: Path) -> None:
    store = store_of(events_env)
    cid = str(store.row(102)["customer_id"])
    body = {"events": [event("t2-a", cid, store), event("t2-a", cid, store)]}
    first = client.post("/events", json=body).json()
    again = client.post("/events", json={"events": [event("t2-a", cid, store)]}).json()
    assert first == {"accepted": 1, "duplicates": 1, "customers": 1}
    assert again == {"accepted": 0, "duplicates": 1, "customers": 0}
    lines = (events_env / "events" / "events.jsonl").read_bytes().splitlines()
    assert sum(orjson.loads(line)["event_id"] == "t2-a" for line in lines) == 1


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({"amount": "12,50"}, "events[1].amount", "not finite numbers"),
        ({"ts": "yesterday"}, "events[1].ts", "not dates; use ISO 8601"),
        ({"ts": "2099-01-01T00:00:00"}, "events[1].ts", "from the future"),
        ({"family": "spaceships"}, "events[1].family", "not a product family"),
        ({"channel": "pigeon"}, "events[1].channel", "not a channel"),
        ({"margin": "n/a"}, "events[1].margin", "not finite numbers"),
        ({"colour": "red"}, "events[1].colour", "Extra inputs are not permitted"),
        ({"event_id": ""}, "events[1].event_id", "at least 1 character"),
    ],
)
def test_a_bad_event_is_a_400_naming_its_row_and_field(
    client: TestClient, events_env: Path, row: dict[str, Any], field: str, words: str
) -> None:
    store = store_of(events_env)
    cid = str(store.row(103)["customer_id"])
    good, bad = event("t3-ok", cid, store), event("t3-bad", cid, store, **row)
    answer = client.post("/events", json={"events": [good, bad]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field
    assert words in answer.json()["error"]
    log = events_env / "events" / "events.jsonl"
    assert not log.exists() or b"t3-ok" not in log.read_bytes()  # nothing of a bad body


def test_times_with_and_without_a_zone_in_one_body_are_utc() -> None:
    layout = Layout(("wine",), ("unknown",))
    events = [
        Event(event_id="z1", customer_id=7, ts="2025-07-02T10:00:00Z", amount=1, family="wine"),
        Event(event_id="z2", customer_id="7", ts="2025-07-02T12:00:00+02:00", amount="2.5",
              family="wine"),
        Event(event_id="z3", customer_id="7", ts="2025-07-02 10:00", amount=3, family="wine"),
    ]  # fmt: skip
    clean = validate_events(events, layout)
    assert [e["ts"] for e in clean] == ["2025-07-02T10:00:00"] * 3
    assert [e["customer_id"] for e in clean] == ["7"] * 3
    assert [(e["margin"], e["channel"], e["quantity"]) for e in clean][1] == (2.5, "unknown", 1.0)
    # the pure-Python path gives what the contract's parsers give
    assert clean == event_input._contract(events, layout, None)


def test_a_customer_the_store_does_not_know_gets_a_profile(
    client: TestClient, events_env: Path
) -> None:
    store = store_of(events_env)
    answer = client.post("/events", json={"events": [event("t4-a", "new-customer-1", store)]})
    assert answer.status_code == 200
    body = wait_until(
        lambda: (
            (r := client.post("/profile", json={"customer_id": "new-customer-1"})).status_code
            == 200
            and r.json()
        )
    )
    assert body["as_of"] == "2025-07-03T00:00:00"
    assert body["value_tier"] is not None


class Loaded:
    """The champions as the service's model manager offers them."""

    def __init__(self, settings: ServiceSettings) -> None:
        scorers, versions = load_champions(settings, optional=True)
        self.current = type("Current", (), {"scorers": scorers, "versions": versions})()
        self.ready = True


def _records(store: FileStore, cid: str, n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {
            **event(f"{tag}-{k}", cid, store, ts=f"2025-07-0{k + 1}T09:00:00"),
            "ts": f"2025-07-0{k + 1}T09:00:00",
            "quantity": 1.0,
            "received": time.time(),
        }
        for k in range(n)
    ]


@pytest.fixture(scope="module")
def worker_home(
    events_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A home of its own for the tests that run EventUpdates directly (as workers do)."""
    source, data = events_home
    home = tmp_path_factory.mktemp("workers") / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("events", "requests"))
    materialize(data, ServiceSettings(home=home))
    return home


def _worker(
    home: Path, models: Loaded | None = None, prepare: Callable[..., Any] | None = None
) -> EventUpdates:
    settings = ServiceSettings(home=home)
    return EventUpdates(
        settings.events_dir,
        settings.store_dir,
        store_of(home).meta,
        models or Loaded(settings),
        prepare=prepare,
    )


def test_another_worker_serves_the_row_without_recomputing_it(worker_home: Path) -> None:
    store = store_of(worker_home)
    cid = str(store.row(11)["customer_id"])
    asked: list[list[str]] = []

    def prepare(rows: list[dict[str, Any]]) -> list[str]:
        asked.append([r["customer_id"] for r in rows])
        return [f"answer of {r['customer_id']}" for r in rows]

    first, second = _worker(worker_home), _worker(worker_home, prepare=prepare)
    first.accept(_records(store, cid, 1, "w1"))
    [row] = first.update([cid])
    assert second.row(cid) is None
    second.start()
    try:
        got = wait_until(lambda: second.row(cid), timeout=2.0)
    finally:
        second.stop()
    assert got.row == row and got.covers == 1
    assert second.updated == 0 and second.followed == 1
    # its served answer is prepared when first asked for, once, not when followed
    assert got.prepared is None and asked == []
    assert second.prepared([cid, "not-updated"])[cid].prepared == f"answer of {cid}"
    assert second.prepared([cid])[cid].prepared == f"answer of {cid}" and asked == [[cid]]
    # the second worker takes the repeat as a duplicate, whoever stored the first
    assert second.accept(_records(store, cid, 1, "w1")) == []


def test_an_event_acknowledged_by_a_worker_that_died_is_applied_by_the_next(
    worker_home: Path,
) -> None:
    store = store_of(worker_home)
    cid = str(store.row(12)["customer_id"])
    dead = _worker(worker_home)
    dead.accept(_records(store, cid, 2, "w2"))  # stored, never updated: its process died
    heir = _worker(worker_home)
    heir.start()
    try:
        got = wait_until(lambda: heir.row(cid), timeout=10.0)
    finally:
        heir.stop()
    assert got.covers == 2 and got.row["as_of"] == "2025-07-03T00:00:00"


def test_the_event_path_gives_the_profile_a_full_materialize_gives(
    events_home: tuple[Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, data = events_home
    home = tmp_path / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("events", "requests"))
    monkeypatch.setenv("CINTEL_HOME", str(home))
    settings = ServiceSettings(home=home)
    materialize(data, settings)  # a store with this home's history
    store = store_of(home)
    models = Loaded(settings)
    updates = EventUpdates(settings.events_dir, settings.store_dir, store.meta, models)
    known = str(store.row(7)["customer_id"])
    # both customers' latest event on 2025-07-02: their own as_of is the publish's
    records = _records(store, known, 2, "eq") + _records(store, "brand-new", 2, "eqn")[1:]
    records[1] = {**records[1], "amount": -10.0, "margin": -3.0}  # a return
    assert len(updates.accept(records)) == 3
    rows = {r["customer_id"]: r for r in updates.update([known, "brand-new"])}

    materialize(data, settings)  # folds the event log: the next full publish
    batch = store_of(home)
    assert batch.meta["as_of"] == "2025-07-03T00:00:00"
    for cid in (known, "brand-new"):
        expected, got = batch.get(cid), rows[cid]
        assert expected is not None
        assert got["as_of"] == expected["as_of"] == batch.meta["as_of"]
        assert set(got) == set(expected)
        for key, value in expected.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert got[key] == value, key
    # and the publish held each event once: folding it again adds nothing
    folded, _ = fold_events(data, settings.events_dir)
    again, _ = fold_events(
        CleanData(folded.transactions, folded.customers, folded.report), settings.events_dir
    )
    assert len(again.transactions) == len(folded.transactions) == len(data.transactions) + 3
    assert isinstance(batch.meta["events"]["folded"], int) and pd.notna(batch.meta["as_of"])
