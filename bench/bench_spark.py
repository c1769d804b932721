"""Snapshot wall time and peak memory: pandas engine against the Spark engine (local[2]).

    python bench/bench_spark.py --customers 100000,1000000

Each (engine, size) runs in a fresh process on the cached simulated data of
bench/bench_snapshot.py (bench/results/synth_<n>/, created if absent). Spark time includes
the JVM start, validation passes and collecting the snapshot to pandas; memory is the
Python driver's peak RSS and the JVM's peak RSS sampled with ``ps`` every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AS_OF = "2025-10-01"
HORIZON = 90


def _children_rss_mb() -> float:
    """Total RSS of this process's child processes (the JVM in local mode), in MB."""
    import os

    out = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(os.getpid())], capture_output=True, text=True
    )
    return sum(int(x) for x in out.stdout.split()) / 1024


def worker(engine: str, data_dir: str) -> None:
    """Build one snapshot with one engine; print seconds, rows and peak memory as JSON."""
    peak = {"jvm": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["jvm"] = max(peak["jvm"], _children_rss_mb())
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    if engine == "pandas":
        from training.io import load_data
        from training.snapshot import build_snapshot

        snap = build_snapshot(load_data(Path(data_dir)), AS_OF, HORIZON)
    else:
        from training.spark.session import get_spark
        from training.spark.snapshot import build_snapshot_spark

        spark = get_spark()
        d = Path(data_dir)
        lazy = build_snapshot_spark(
            str(d / "transactions.parquet"),
            str(d / "customers.parquet"),
            AS_OF,
            HORIZON,
            spark=spark,
        )
        snap = lazy.to_snapshot()
    seconds = time.perf_counter() - t0
    stop.set()
    print(
        json.dumps(
            {
                "rows": len(snap.frame),
                "cols": snap.frame.shape[1],
                "seconds": seconds,
                "driver_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "jvm_mb": peak["jvm"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", default="100000,1000000")
    parser.add_argument("--engines", default="pandas,spark")
    parser.add_argument("--worker", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    from bench.bench_snapshot import ensure_data

    print(
        f"{'customers':>10} {'engine':>7} {'rows':>9} {'wall s':>8} {'driver MB':>10} {'JVM MB':>8}"
    )
    for n in [int(s) for s in args.customers.split(",")]:
        data_dir = ensure_data(n)
        for engine in args.engines.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", engine, str(data_dir)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{n:>10,} {engine:>7} {r['rows']:>9,} {r['seconds']:>8.1f} "
                f"{r['driver_mb']:>10,.0f} {r['jvm_mb']:>8,.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
