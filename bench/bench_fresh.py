"""Answers scored on read (a store older than the champions) against the prepared fast path.

    CINTEL_HOME=<trained, materialized home> .venv/bin/python bench/bench_fresh.py \\
        [--model churn] [--customers 300]

Pretends ``--model`` was promoted after the store was materialized (its version label is
changed, the scorer is the same) and times ``serving.fresh.FreshAnswers`` per customer on
first and repeated ask, a 100-customer batch, and the baseline of the same run: the
prepared answers of the file store (``StoreAnswers``), first ask. One thread, in process.
"""

from __future__ import annotations

import argparse
import statistics
import time

from threadpoolctl import threadpool_limits

from serving.answers import StoreAnswers, from_store
from serving.catalogue import load_catalogue
from serving.follower import ModelManager, ModelSet
from serving.fresh import FreshAnswers
from serving.scoring import smoke_test
from serving.settings import get_service_settings
from serving.store import FileStore


def _ms(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[int(0.99 * len(ordered))]
    return f"p50 {statistics.median(ordered):7.2f} ms  p99 {p99:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="churn")
    parser.add_argument("--customers", type=int, default=300)
    args = parser.parse_args()
    settings = get_service_settings()
    store = FileStore.load(settings.store_dir)
    manager = ModelManager(settings.model_cache_dir, settings.tracking_uri, smoke_test)
    manager.load_cache()
    current = manager.current
    versions = {**current.versions, args.model: "bench"}
    stale = ModelSet(current.scorers, versions, current.columns)
    catalogue = load_catalogue(settings.offers_path)
    ids = [str(c) for c in store.columns()["customer_id"][: args.customers + 1]]

    def per_customer(answer: object) -> list[float]:
        out = []
        for cid in ids[1:]:
            started = time.perf_counter()
            answer(cid)  # type: ignore[operator]
            out.append((time.perf_counter() - started) * 1000)
        return out

    with threadpool_limits(1):
        fresh = FreshAnswers(store, stale, catalogue)
        fresh.batch(ids[:1])  # learns each model's columns once
        first = per_customer(lambda c: fresh.batch([c]))
        again = per_customer(lambda c: fresh.batch([c]))
        if fresh.error:
            raise SystemExit(f"scoring on read failed: {fresh.error}")
        prepared = StoreAnswers(store, catalogue)
        base = per_customer(lambda c: from_store(prepared, [c]))
        batch = FreshAnswers(store, stale, catalogue)
        started = time.perf_counter()
        batch.batch(ids[1:101])
        batch_ms = (time.perf_counter() - started) * 1000
    print(f"{args.model} promoted after the store, {len(ids) - 1} customers, one thread")
    print(f"  scored on read, first ask  {_ms(first)}")
    print(f"  scored on read, asked again {_ms(again)}")
    print(f"  baseline: prepared store answer, first ask {_ms(base)}")
    ratio = statistics.median(first) / max(statistics.median(base), 1e-9)
    print(f"  first ask scored on read / prepared: {ratio:.0f}x; 100 at once: {batch_ms:.1f} ms")


if __name__ == "__main__":
    main()
