"""One event update in process: ``EventUpdates.update`` of 1 and 10 customers.

    .venv/bin/python bench/bench_event_update.py --home CINTEL_HOME [--repeats 20] [--no-answer]

The home is a materialized one (``bench_events.py`` builds one); its event log is removed
first. Each repeat logs one new event for a customer not updated before and times the
update that recomputes, rescores and shares that customer's row (what the updater process
does) and prepares its served answer (done by a worker on the first /profile that asks;
``--no-answer`` leaves it out), then once for 10 customers; wall time and the CPU time of
the updating thread (less sensitive to other jobs on the cores). Run it from two trees
(one before a change, one after) alternately for a same-load comparison (PYTHONPATH=the
tree; this script also runs against a tree whose update prepares the answer itself).
"""

from __future__ import annotations

from runenv import pin_threads

pin_threads()  # before numpy: explicit thread counts

import argparse
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from serving.answers import from_rows
from serving.batch.materialize import load_champions
from serving.catalogue import load_catalogue
from serving.events import EventUpdates
from serving.settings import ServiceSettings
from serving.store import FileStore


class _Models:
    def __init__(self, scorers: dict[str, Any], versions: dict[str, str]) -> None:
        self.ready = True
        self.current = type("Current", (), {"scorers": scorers, "versions": versions})()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--no-answer",
        action="store_true",
        help="time the update alone (what the updater process does), not the served answer",
    )
    args = parser.parse_args()
    settings = ServiceSettings(home=args.home)
    store = FileStore.load(settings.store_dir)
    scorers, versions = load_champions(settings, optional=True)
    catalogue = load_catalogue(settings.offers_path)
    shutil.rmtree(settings.events_dir, ignore_errors=True)

    def prepare(rows: Any) -> Any:
        """The served answers of the rows (of one row, for a tree preparing per row)."""
        many = isinstance(rows, list)
        rows = rows if many else [rows]
        answers = from_rows(rows, [str(r["customer_id"]) for r in rows], catalogue).prepared
        return answers if many else answers[0]

    updates = EventUpdates(
        settings.events_dir, settings.store_dir, store.meta, _Models(scorers, versions),
        prepare=prepare,
    )  # fmt: skip
    meta = store.meta
    ids = [str(store.row(i)["customer_id"]) for i in range(args.repeats + 20)]

    def events(cids: list[str], tag: str) -> list[dict[str, Any]]:
        return [{"event_id": f"{tag}-{c}", "customer_id": c, "ts": f"{meta['as_of'][:10]}T09:00:00",
                 "amount": 40.0, "margin": 40.0, "quantity": 1.0, "family": meta["families"][0],
                 "channel": meta["events"]["channels"][0], "received": time.time()}
                for c in cids]  # fmt: skip

    prepared = getattr(updates, "prepared", None)  # a tree that prepares in update has none
    if args.no_answer:
        prepared = None

    def timed(cids: list[str], tag: str) -> tuple[float, float]:
        """(wall ms, CPU ms of this thread) of the update and the answer's preparation."""
        updates.accept(events(cids, tag))
        t, cpu = time.perf_counter(), time.thread_time()
        updates.update(cids)
        if prepared is not None:
            prepared(cids)  # the served answer (prepared on first ask)
        return (time.perf_counter() - t) * 1e3, (time.thread_time() - cpu) * 1e3

    timed(ids[:2], "warm")
    one = [timed([ids[2 + k]], f"one{k}") for k in range(args.repeats)]
    ten = timed(ids[2 + args.repeats : 12 + args.repeats], "ten")
    wall, cpu = [w for w, _ in one], [c for _, c in one]
    print(
        f"update of 1 customer: median {statistics.median(wall):.1f} ms, min {min(wall):.1f} ms "
        f"wall; CPU median {statistics.median(cpu):.1f} ms, min {min(cpu):.1f} ms "
        f"({args.repeats} repeats); 10 customers {ten[0]:.1f} ms wall, {ten[1]:.1f} ms CPU; "
        f"error {updates.error}"
    )


if __name__ == "__main__":
    main()
