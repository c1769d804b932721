"""The decision log's index (any worker's records, after a restart, bounded memory) and the
feedback store shared by workers (de-duplication, contact caps)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from serving.decision_index import DecisionIndex, line_keys
from serving.decisions import new_decision_id, record_line, request_head
from serving.feedback import FeedbackStore
from serving.jsonlog import JsonLog

TODAY = datetime.now(UTC).isoformat(timespec="microseconds")


def _record(customer: str, ts: str = TODAY, decision_id: str | None = None) -> tuple[str, bytes]:
    decision_id = decision_id or new_decision_id()
    offer = b'"offer_id":"xs_wine","campaign":"cross_sell"}'
    line = record_line(
        decision_id,
        ts,
        request_head("/profile", "web", "2025-06-30", {"churn": "1"}),
        orjson.dumps(customer),
        b'{"rank":1,' + offer,
        b"",
        b'"assignment":{},"ranking":{}}',
    )
    return decision_id, line


def test_records_of_every_writer_are_found(tmp_path: Path) -> None:
    folder = tmp_path / "decisions"
    me, other = JsonLog(folder), JsonLog(folder)  # two workers append to the same day file
    index = DecisionIndex(folder, days=30)
    ids = []
    for i in range(300):
        decision_id, line = _record(f"c{i}")
        (me if i % 2 else other).write_through(line, TODAY)
        ids.append(decision_id)
    assert index.sync() == 300 and len(index) == 300
    assert index.find(ids[7])["customer_id"] == "c7"  # type: ignore[index]
    late_id, late = _record("late")
    other.write_through(late, TODAY)  # after the last sync: found by reading the new lines
    assert index.find(late_id)["customer_id"] == "late"  # type: ignore[index]
    assert index.find(new_decision_id()) is None
    assert index.find("not-hex") is None and index.find("g" * 32) is None
    restarted = DecisionIndex(folder, days=30)  # a restart: rebuilt from the files
    assert restarted.find(ids[123])["customer_id"] == "c123"  # type: ignore[index]
    assert restarted.memory_bytes == 16 * 301


def test_merged_and_recent_entries_and_a_shared_prefix(tmp_path: Path) -> None:
    folder = tmp_path / "decisions"
    log = JsonLog(folder)
    index = DecisionIndex(folder, days=30)
    index.merge_at = 10
    ids = []
    for i in range(100):
        decision_id, line = _record(f"c{i}")
        log.write_through(line, TODAY)
        ids.append(decision_id)
        if i % 7 == 0:
            index.sync()
    index.sync()
    assert all(index.find(d)["customer_id"] == f"c{i}" for i, d in enumerate(ids))  # type: ignore[index]
    twin = ids[5][:16] + "0" * 16  # the same 64-bit key, another id
    _, line = _record("twin", decision_id=twin)
    log.write_through(line, TODAY)
    assert index.find(twin)["customer_id"] == "twin"  # type: ignore[index]
    assert index.find(ids[5])["customer_id"] == "c5"  # type: ignore[index]


def test_torn_and_foreign_lines(tmp_path: Path) -> None:
    folder = tmp_path / "decisions"
    folder.mkdir()
    good_id, good = _record("good")
    foreign = new_decision_id()
    other = orjson.dumps({"ts": TODAY, "decision_id": foreign, "customer_id": "f"}) + b"\n"
    (folder / f"{TODAY[:10]}.jsonl").write_bytes(b"\n" + other + good + b'{"decision_id":"ab')
    keys, _starts, used = line_keys((folder / f"{TODAY[:10]}.jsonl").read_bytes())
    assert len(keys) == 2 and used == 1 + len(other) + len(good)  # the torn tail waits
    index = DecisionIndex(folder, days=30)
    assert index.find(good_id)["customer_id"] == "good"  # type: ignore[index]
    assert index.find(foreign)["customer_id"] == "f"  # type: ignore[index]


def test_decisions_older_than_the_window_are_forgotten(tmp_path: Path) -> None:
    folder = tmp_path / "decisions"
    log = JsonLog(folder)
    old_id, old = _record("old", ts="2026-01-01T10:00:00+00:00")
    new_id, new = _record("new", ts="2026-01-20T10:00:00+00:00")
    log.write_through(old, "2026-01-01T10:00:00+00:00")
    log.write_through(new, "2026-01-20T10:00:00+00:00")
    now = [datetime(2026, 1, 21, tzinfo=UTC).timestamp()]
    index = DecisionIndex(folder, days=30, clock=lambda: now[0])
    assert index.find(old_id) is not None and len(index) == 2
    now[0] = datetime(2026, 2, 5, tzinfo=UTC).timestamp()
    index.sync()
    assert index.find(old_id) is None and index.find(new_id) is not None and len(index) == 1


def test_feedback_is_stored_once_across_workers_and_feeds_contact_caps(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    a, b = FeedbackStore(folder), FeedbackStore(folder)  # two workers
    d = new_decision_id()
    record = {"decision_id": d, "offer_id": "xs_wine", "outcome": "clicked", "customer_id": "17",
              "channel": "web"}  # fmt: skip
    assert a.store(dict(record)) is True
    assert b.store(dict(record)) is False  # the other worker sees it in the log
    assert a.store(dict(record)) is False
    assert b.store({**record, "outcome": "accepted"}) is True  # another outcome counts
    legacy = {"customer_id": "17", "offer_id": "up", "channel": "web", "outcome": "shown"}
    assert a.store(dict(legacy)) and a.store(dict(legacy))  # the old body: every one counts
    since = time.time() - 60
    assert b.store({**record, "decision_id": new_decision_id()})
    # every stored record is a contact, counted by every worker
    assert a.store({"customer_id": "18", "offer_id": "up", "channel": "web", "outcome": "shown"})
    assert a.contacts.count("17", None, since) == 5
    assert a.contacts.count("17", "xs_wine", since) == 3
    restarted = FeedbackStore(folder)
    assert restarted.contacts.count("17", None, since) == 5
    assert restarted.store(dict(record)) is False
    lines = [orjson.loads(x) for p in folder.glob("*.jsonl") for x in p.read_bytes().splitlines()]
    assert len(lines) == 6 and all("ts" in x for x in lines)
