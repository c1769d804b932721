"""Time ``cintel materialize``'s scoring per model on simulated customers; extrapolate to 1 M.

    CINTEL_HOME=<trained home> .venv/bin/python bench/bench_materialize.py \
        [--data bench/results/synth_100000] [--customers 100000]

The champions come from the home's registry (``load_champions``, as materialize does);
the customers from a ``cintel synth`` folder (built with synth when missing).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from serving.materialize import CHUNK, load_champions, score_all
from serving.settings import get_service_settings
from training.contract import validate
from training.snapshot import build_snapshot
from training.synth import SynthConfig, synthesize


def load_data(folder: Path, customers: int):  # type: ignore[no-untyped-def]
    """The customers of a synth folder, or a fresh simulation of ``customers``."""
    if (folder / "transactions.parquet").exists():
        return validate(
            pd.read_parquet(folder / "transactions.parquet"),
            pd.read_parquet(folder / "customers.parquet"),
        )
    sim = synthesize(SynthConfig(n_customers=customers, end="2025-06-30", seed=11))
    return validate(sim.transactions, sim.customers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/results/synth_100000"))
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = load_data(args.data, args.customers)
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    t_snap = time.perf_counter() - t0
    scorers, versions = load_champions(get_service_settings())
    n = len(features)
    print(f"{n:,} customers, snapshot {t_snap:.1f} s, champions {versions}, chunk {CHUNK:,}")
    per_model: dict[str, float] = {}
    for name in sorted(scorers):
        t = time.perf_counter()
        for start in range(0, n, CHUNK):
            scorers[name].predict_frame(features.iloc[start : start + CHUNK])
        per_model[name] = time.perf_counter() - t
    t = time.perf_counter()
    score_all(features, scorers)
    total = time.perf_counter() - t
    scale = 1_000_000 / n
    print(f"\n{'model':<12}{'seconds':>10}{'µs/customer':>13}{'1M est. s':>11}")
    for name, sec in per_model.items():
        print(f"{name:<12}{sec:>10.2f}{sec / n * 1e6:>13.1f}{sec * scale:>11.1f}")
    print(f"{'score_all':<12}{total:>10.2f}{total / n * 1e6:>13.1f}{total * scale:>11.1f}")
    print(f"snapshot    {t_snap:>10.2f}{t_snap / n * 1e6:>13.1f}{t_snap * scale:>11.1f}")


if __name__ == "__main__":
    main()
