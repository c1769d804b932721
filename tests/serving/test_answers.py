"""Answers built from the file store equal answers built from row dicts (Redis, /score)."""

from __future__ import annotations

from pathlib import Path

import orjson

from serving.answers import StoreAnswers, from_rows, from_store, log_block, log_lines, render
from serving.catalogue import default_catalogue
from serving.contacts import ContactHistory
from serving.offers import OfferContext, request_rules
from serving.request_record import request_line
from serving.store import FileStore
from tests.serving.readback import rank_offers, request_record
from training.data.contract import CleanData

NOW = 1.8e9


def test_file_store_and_row_paths_give_the_same_answers(
    trained_home: tuple[Path, CleanData],
) -> None:
    home, _ = trained_home
    store = FileStore.load(home / "store")
    catalogue = default_catalogue()
    prepared = StoreAnswers(store, catalogue)
    ids = [str(store.row(i)["customer_id"]) for i in range(0, len(store), 7)] + ["nobody"]
    rows = [store.get(cid) for cid in ids]
    contacts = ContactHistory.from_records(
        [{"customer_id": ids[0], "offer_id": o.id, "ts": NOW - 60} for o in catalogue.offers]
    )
    versions = {"churn": "3"}
    for ctx in (
        OfferContext(),
        OfferContext(channel="phone"),
        OfferContext(channel="web", basket_families=frozenset({"bakery"})),
    ):
        rules = request_rules(catalogue, ctx)
        by_file = from_store(prepared, ids)
        by_rows = from_rows(rows, ids, catalogue)
        assert by_file.missing == by_rows.missing == ["nobody"]
        a = render(by_file, catalogue, rules, contacts, versions, now_s=NOW)
        b = render(by_rows, catalogue, rules, contacts, versions, now_s=NOW)
        assert a == b
        answers = [orjson.loads(x) for x in a]
        # offers are what the one-customer arbitration makes, in the same order
        for answer, row in zip(answers, rows, strict=False):
            assert row is not None
            want = [o.offer_id for o in rank_offers(row, catalogue, ctx, contacts, NOW)]
            assert [o["offer_id"] for o in answer["offers"]] == want
            assert answer["model_versions"] == versions and answer["cold_start"] is False
        assert answers[0]["offers"] == []  # every offer capped for the contacted customer
    ts = "2026-11-23T10:00:00+00:00"
    lines = [orjson.loads(x) for x in log_lines("/profiles", by_file, versions, 2.5)(ts)]
    want = [
        request_record("/profiles", r, r["customer_id"], versions, 2.5, False, ts)
        for r in rows
        if r is not None
    ]
    assert lines == want and len(lines) == len(ids) - 1
    # one join per answer: the bytes request_line writes per customer
    block = log_block("/profiles", by_file, versions, 2.5, ts)
    fragments = [p.log for p in by_file.prepared]
    one_by_one = [
        request_line("/profiles", c, False, f, orjson.dumps(versions), 2.5, ts) + b"\n"
        for c, f in zip(by_file.customer_ids, fragments, strict=True)
    ]
    assert block == b"".join(one_by_one)


def test_lazy_log_records_are_built_on_the_writer_thread(tmp_path: Path) -> None:
    from serving.jsonlog import JsonLog
    from tests.serving.readback import read_jsonl

    log = JsonLog(tmp_path)
    log.extend(lambda ts: [b'{"customer_id":"1","ts":"%s"}' % ts.encode(), b'{"customer_id":"2"}'])
    log.extend(lambda ts: [b"never", bytes(1 // 0)])  # fails while built: nothing written
    log.append({"customer_id": "4", "x": float("nan")})
    log.flush()
    records = read_jsonl(tmp_path)
    assert [r["customer_id"] for r in records] == ["1", "2", "4"]
    assert records[2]["x"] is None and records[0]["ts"][:10] == records[2]["ts"][:10]
    assert log.written == 3 and log.dropped == 1
    log.close()
