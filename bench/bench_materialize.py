"""``cintel materialize`` phase by phase on simulated customers, against the 1-minute target.

    CINTEL_HOME=<trained home> .venv/bin/python bench/bench_materialize.py \
        [--data DIR] [--customers 100000]

The champions come from the home's registry (``load_champions``, as materialize does); the
customers from a ``cintel synth`` folder (written with synth when missing). Printed: each
phase of materialize (read + validate, snapshot, scoring, store write), each model's
share of the scoring, and the baseline of the same run: scoring on one thread against
scoring on one thread per CPU (what materialize does).
"""

from __future__ import annotations

from runenv import cached, mark, pin_threads, synth_dir

pin_threads()  # before numpy: explicit thread counts

import argparse
import os
import tempfile
import time
from pathlib import Path

from serving.batch.materialize import CHUNK, REASONS_FROM, load_champions, score_all
from serving.settings import get_service_settings
from serving.store import write_file_store
from training.data.io import load_data
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import build_snapshot

TARGET_1M_S = 60.0  # issue 17: 1 M customers in a minute


def ensure_data(folder: Path | None, customers: int) -> Path:
    """``--data``, or the cached simulation of ``customers`` (named by its parameters)."""
    if folder is not None:
        return folder
    config = SynthConfig(n_customers=customers, end="2025-06-30", seed=11)
    folder = synth_dir(config, "to_parquet")
    if not cached(folder, config, "to_parquet"):
        sim = synthesize(config)
        folder.mkdir(parents=True, exist_ok=True)
        sim.transactions.to_parquet(folder / "transactions.parquet", index=False)
        sim.customers.to_parquet(folder / "customers.parquet", index=False)
        mark(folder, config, "to_parquet")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="default: a cached simulation")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--reasons", choices=["exact", "approx"], default="exact", help="as cintel materialize"
    )
    args = parser.parse_args()
    approx = args.reasons == "approx"
    phases: dict[str, float] = {}

    t = time.perf_counter()
    data = load_data(ensure_data(args.data, args.customers))
    phases["read + validate"] = time.perf_counter() - t
    t = time.perf_counter()
    scorers, versions = load_champions(get_service_settings())
    phases["load champions"] = time.perf_counter() - t
    t = time.perf_counter()
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    phases["snapshot"] = time.perf_counter() - t
    n = len(features)
    print(
        f"{n:,} customers, champions {versions}, chunk {CHUNK:,}, {os.cpu_count()} CPUs, "
        f"{args.reasons} churn reasons"
    )

    per_model: dict[str, float] = {}
    per_model_cpu: dict[str, float] = {}  # CPU seconds: what a busy shared machine hides
    for name in sorted(scorers):
        kwargs = {"reasons_from": REASONS_FROM, "approx_reasons": approx} if name == "churn" else {}
        t, c = time.perf_counter(), time.process_time()
        for start in range(0, n, CHUNK):
            scorers[name].predict_frame(features.iloc[start : start + CHUNK], **kwargs)  # type: ignore[call-arg]
        per_model[name] = time.perf_counter() - t
        per_model_cpu[name] = time.process_time() - c
    t = time.perf_counter()
    score_all(features, scorers, threads=1, approx_reasons=approx)
    serial = time.perf_counter() - t
    t = time.perf_counter()
    profiles = score_all(features, scorers, approx_reasons=approx)
    phases["scoring"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_file_store(profiles, {"versions": versions}, Path(tmp))
        phases["write file store"] = time.perf_counter() - t

    scale = 1_000_000 / n
    print(f"\n{'phase':<20}{'seconds':>10}{'µs/customer':>13}{'1M est. s':>11}")
    for name, sec in phases.items():
        print(f"{name:<20}{sec:>10.2f}{sec / n * 1e6:>13.1f}{sec * scale:>11.1f}")
    total = sum(phases.values())
    print(f"{'total':<20}{total:>10.2f}{total / n * 1e6:>13.1f}{total * scale:>11.1f}")
    print(
        f"\n{'model (one thread)':<20}{'seconds':>10}{'µs/customer':>13}{'1M est. s':>11}"
        f"{'CPU s':>9}"
    )
    for name, sec in per_model.items():
        print(
            f"{name:<20}{sec:>10.2f}{sec / n * 1e6:>13.1f}{sec * scale:>11.1f}"
            f"{per_model_cpu[name]:>9.2f}"
        )
    print(
        f"\nscoring: one thread {serial:.2f} s, threaded {phases['scoring']:.2f} s = "
        f"{serial / phases['scoring']:.2f}x"
    )
    print(
        f"1M estimate {total * scale:.0f} s / target {TARGET_1M_S:.0f} s = "
        f"{total * scale / TARGET_1M_S:.2f} (<= 1)"
    )


if __name__ == "__main__":
    main()
