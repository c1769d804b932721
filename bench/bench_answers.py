"""In process: the cost per customer of a /profiles answer from prepared answers.

    .venv/bin/python bench/bench_answers.py --home CINTEL_HOME [--batch 100] [--seconds 3]

Times what the service does per request once every customer is prepared: look the ids up
(``from_store``), ``render`` (with decision records, and without), the decision lines
joined and the request-log lines built (``log_block``, or ``log_lines`` on a tree from
before it), no I/O. Run it with ``PYTHONPATH`` at two trees in turn for an A/B (the
figures are in µs per customer, best of three runs of ``--seconds`` each).
"""

from __future__ import annotations

from runenv import pin_threads

pin_threads()

import argparse
import os
import random
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    from serving import answers as mod
    from serving.answers import Decisions, StoreAnswers, from_store, render
    from serving.catalogue import load_catalogue
    from serving.decisions import request_head, utc_now
    from serving.offers import OfferContext, request_rules
    from serving.settings import ServiceSettings
    from serving.store import FileStore

    settings = ServiceSettings(home=args.home)
    store = FileStore.load(settings.store_dir)
    catalogue = load_catalogue(settings.offers_path)
    answers = StoreAnswers(store, catalogue)
    ids = [str(store.row(i)["customer_id"]) for i in range(len(store))]
    for i in range(len(store)):
        answers.get(i)
    versions = store.meta.get("versions", {})
    rng = random.Random(0)
    batches = [rng.sample(ids, args.batch) for _ in range(200)]
    block = getattr(mod, "log_block", None)

    def one(cids: list[str], decide: bool) -> int:
        rules = request_rules(catalogue, OfferContext())
        ts = utc_now()
        decided = Decisions(request_head("/profiles", None, "x", versions), ts) if decide else None
        batch = from_store(answers, cids)
        out = render(batch, catalogue, rules, None, versions, decided=decided)
        if decided is not None:
            b"".join(decided.lines)
        if block is not None:
            block("/profiles", batch, versions, 1.0, ts)
        else:
            b"\n".join(mod.log_lines("/profiles", batch, versions, 1.0)(ts)) + b"\n"
        return len(out)

    tree = os.environ.get("PYTHONPATH", "?")
    for decide in (True, False):
        best = float("inf")
        for _ in range(3):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds:
                for cids in batches[:20]:
                    n += one(cids, decide)
            best = min(best, (time.perf_counter() - t0) / n * 1e6)
        label = "with decision records" if decide else "without"
        print(f"{tree}: {best:6.2f} us per customer {label} ({1e6 / best:,.0f} customers/s)")


if __name__ == "__main__":
    main()
