"""Snapshot and materialize, pandas engine against Spark (local[2]): wall time, peak memory.

    python bench/bench_spark.py --customers 1000000 [--tasks snapshot,materialize]
        [--engines pandas,spark]

Run one size at a time (each size appends to bench/results/spark_runs.jsonl; the summary
reads every recorded run, so ratios and crossings cover all sizes measured so far).

Each (task, engine, size) runs in a fresh process on simulated data
(bench/results/synth_<n>_<start>_<end>_seed<seed>_<hash>/, streamed block by block into one
Parquet file per table, so 10 M customers never sit in memory here). What each run does is
what the CLI does:

- snapshot: read, validate, features and labels at 2025-10-01, written as Parquet
  (pandas: one file; Spark: a folder of parts).
- materialize: the latest snapshot scored by the four champions of a home trained once on
  20,000 simulated customers (bench/results/spark_home), written to the file store.

Memory is the peak resident set of the whole process tree (driver, the JVM and Spark's
Python workers), sampled every 0.2 s with psutil. Before a pandas run the peak is
estimated from the largest smaller run (or 6.5 KB per customer for the snapshot and
10 KB for materialize, the 1 M figures); a run whose estimate exceeds 85 % of the
available memory is not attempted and reported as such.
"""

from __future__ import annotations

from runenv import cached, mark, pin_threads, synth_dir

pin_threads()  # before numpy: explicit thread counts, in this process and Spark's

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = RESULTS / "spark_runs.jsonl"
HOME = RESULTS / "spark_home"
YEARS = ("2024-01-01", "2025-12-31")
AS_OF = "2025-10-01"
HORIZON = 90
DEFAULT_MB_PER_CUSTOMER = {"snapshot": 6.5e-3, "materialize": 10e-3}
HEADROOM = 0.85


def ensure_data(n: int) -> Path:
    """``cintel synth``'s data for ``n`` customers, written block by block."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from training.data.simulator.simulate import (
        CHUNK_CUSTOMERS,
        SynthConfig,
        _check_config,
        _synthesize_block,
    )

    config = SynthConfig(n_customers=n, start=YEARS[0], end=YEARS[1])
    out = synth_dir(config, "blocks")
    if cached(out, config, "blocks"):
        return out
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    times = _check_config(config)
    import numpy as np

    starts = range(0, n, CHUNK_CUSTOMERS)
    seeds = np.random.SeedSequence(config.seed).spawn(len(starts))
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for first_id, seed in zip(starts, seeds, strict=True):
            block = _synthesize_block(config, times, first_id, seed)
            for name in ("transactions", "customers"):
                table = pa.Table.from_pandas(getattr(block, name), preserve_index=False)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out / f"{name}.parquet.tmp", table.schema)
                writers[name].write_table(table)
    finally:
        for w in writers.values():
            w.close()
    for name in ("transactions", "customers"):
        (out / f"{name}.parquet.tmp").rename(out / f"{name}.parquet")
    mark(out, config, "blocks")
    print(f"  simulated {n:,} customers in {time.perf_counter() - t:.0f} s -> {out}", flush=True)
    return out


def ensure_home() -> Path:
    """A CINTEL_HOME with four champions trained on 20,000 simulated customers."""
    if (HOME / "mlflow" / "mlflow.db").exists():
        return HOME
    data = ensure_data(20_000)
    env = {**os.environ, "CINTEL_HOME": str(HOME)}
    env.pop("MLFLOW_TRACKING_URI", None)
    cintel = Path(sys.executable).parent / "cintel"
    subprocess.run([str(cintel), "train", "--data", str(data)], env=env, check=True)
    return HOME


class TreePeak:
    """Peak RSS of this process plus all its descendants, sampled in a thread."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        import psutil

        total = self.me.memory_info().rss
        for child in self.me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a worker may exit meanwhile
                total += child.memory_info().rss
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.2)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = max(self.peak, self._rss())
        self._stop.set()


def worker(task: str, engine: str, data_dir: str, out_dir: str) -> None:
    """One run; prints seconds, customers and peak memory as JSON."""
    d = Path(data_dir)
    tx, cu = str(d / "transactions.parquet"), str(d / "customers.parquet")
    t0 = time.perf_counter()
    with TreePeak() as peak:
        if engine == "pandas" and task == "snapshot":
            from training.data.io import load_data
            from training.data.snapshot import build_snapshot, write_snapshot

            snap = build_snapshot(load_data(d), AS_OF, HORIZON)
            write_snapshot(snap, Path(out_dir) / "snapshot.parquet")
            rows = len(snap.frame)
        elif engine == "spark" and task == "snapshot":
            from training.spark.session import get_spark
            from training.spark.snapshot import build_snapshot_spark

            spark = get_spark()
            lazy = build_snapshot_spark(tx, cu, AS_OF, HORIZON, spark=spark)
            lazy.write(str(Path(out_dir) / "snapshot_spark.parquet"))
            rows = spark.read.parquet(str(Path(out_dir) / "snapshot_spark.parquet")).count()
        elif engine == "pandas":
            from serving.batch.materialize import materialize
            from serving.settings import ServiceSettings
            from training.data.io import load_data

            rows = materialize(load_data(d), ServiceSettings()).n_customers
        else:
            from serving.batch.spark_materialize import materialize_spark
            from serving.settings import ServiceSettings
            from training.spark.session import get_spark

            rows = materialize_spark(tx, cu, ServiceSettings(), get_spark()).n_customers
    seconds = time.perf_counter() - t0
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak.peak}))


def available_mb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**20


def recorded() -> list[dict]:
    if not RUNS.exists():
        return []
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()]


def estimate_mb(task: str, engine: str, n: int) -> float:
    """Peak memory extrapolated linearly from the largest smaller measured run."""
    done = [
        r
        for r in recorded()
        if r["task"] == task and r["engine"] == engine and r.get("seconds") and r["n"] < n
    ]
    if not done:
        return DEFAULT_MB_PER_CUSTOMER[task] * n
    best = max(done, key=lambda r: r["n"])
    return best["peak_mb"] / best["n"] * n


def run_one(task: str, engine: str, n: int, data_dir: Path) -> dict:
    record: dict = {"task": task, "engine": engine, "n": n, "at": time.strftime("%F %T")}
    if engine == "pandas":
        need, have = estimate_mb(task, engine, n), available_mb()
        if need > HEADROOM * have:
            record.update(
                status="not attempted",
                estimated_gb=need / 1024,
                available_gb=have / 1024,
            )
            return record
    out_dir = RESULTS / f"spark_out_{n}"
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CINTEL_HOME": str(HOME)}
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, __file__, "--worker", task, engine, str(data_dir), str(out_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        oom = proc.returncode in (-9, 137) or "MemoryError" in proc.stderr
        record.update(status="out of memory" if oom else "failed", error=" | ".join(tail))
        return record
    record.update(status="ok", **json.loads(proc.stdout.strip().splitlines()[-1]))
    return record


def show(r: dict) -> str:
    head = f"{r['task']:>11} {r['n']:>11,} {r['engine']:>7}"
    if r["status"] != "ok":
        extra = (
            f"estimated {r['estimated_gb']:.1f} GB > {HEADROOM:.0%} of "
            f"{r['available_gb']:.1f} GB available"
            if "estimated_gb" in r
            else r.get("error", "")
        )
        return f"{head}  {r['status']}: {extra}"
    return f"{head} {r['seconds']:>9.1f} {r['peak_mb'] / 1024:>9.2f}"


def summary() -> None:
    """Ratios spark/pandas per task and size from every recorded run, and the trend."""
    latest: dict[tuple, dict] = {}
    for r in recorded():
        latest[(r["task"], r["n"], r["engine"])] = r
    print("\nspark / pandas (all recorded runs)")
    print(f"{'task':>11} {'customers':>11} {'time x':>8} {'memory x':>9}  s per 1M (pandas, spark)")
    for task in ("snapshot", "materialize"):
        for n in sorted({k[1] for k in latest if k[0] == task}):
            p, s = latest.get((task, n, "pandas")), latest.get((task, n, "spark"))
            if not (p and s and p["status"] == "ok" and s["status"] == "ok"):
                state = p["status"] if p else "pandas not run"
                print(f"{task:>11} {n:>11,} {'-':>8} {'-':>9}  pandas: {state}")
                continue
            per = (p["seconds"] / n * 1e6, s["seconds"] / n * 1e6)
            print(
                f"{task:>11} {n:>11,} {s['seconds'] / p['seconds']:>8.1f} "
                f"{s['peak_mb'] / p['peak_mb']:>9.2f}  {per[0]:.0f}, {per[1]:.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", default="1000000")
    parser.add_argument("--engines", default="pandas,spark")
    parser.add_argument("--tasks", default="snapshot,materialize")
    parser.add_argument("--worker", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    tasks = args.tasks.split(",")
    if "materialize" in tasks:
        ensure_home()
    print(f"{'task':>11} {'customers':>11} {'engine':>7} {'wall s':>9} {'peak GB':>9}")
    for n in [int(s) for s in args.customers.split(",")]:
        data_dir = ensure_data(n)
        for task in tasks:
            for engine in args.engines.split(","):
                r = run_one(task, engine, n, data_dir)
                with RUNS.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                print(show(r), flush=True)
    summary()


if __name__ == "__main__":
    main()
