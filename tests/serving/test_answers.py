"""Answers built from the file store equal answers built from row dicts (Redis, /score)."""

from __future__ import annotations

from pathlib import Path

import orjson

from serving.answers import from_file_store, from_rows, render
from serving.catalogue import default_catalogue
from serving.contacts import ContactHistory
from serving.offer_table import offer_table
from serving.offers import OfferContext, rank_offers, request_rules
from serving.store import FileStore
from training.contract import CleanData

NOW = 1.8e9


def test_file_store_and_row_paths_give_the_same_answers(
    trained_home: tuple[Path, CleanData],
) -> None:
    home, _ = trained_home
    store = FileStore.load(home / "store")
    catalogue = default_catalogue()
    table = offer_table(store.columns(), catalogue, len(store))
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
        by_file = from_file_store(store, table, ids)
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
    assert len(by_file.log_rows()) == len(ids) - 1
    assert by_file.log_rows() == [r for r in rows if r is not None]


def test_lazy_log_records_are_built_on_the_writer_thread(tmp_path: Path) -> None:
    from serving.jsonlog import JsonLog, read_jsonl

    log = JsonLog(tmp_path)
    log.extend(lambda: [{"customer_id": "1", "x": float("nan")}, {"customer_id": "2"}])
    log.extend(lambda: [{"customer_id": "3", "bad": 1 / 0}])  # fails when built
    log.append({"customer_id": "4"})
    log.flush()
    records = read_jsonl(tmp_path)
    assert [r["customer_id"] for r in records] == ["1", "2", "4"]
    assert records[0]["x"] is None and records[0]["ts"] == records[1]["ts"]
    assert log.written == 3 and log.dropped == 1
    log.close()
