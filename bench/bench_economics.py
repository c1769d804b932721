"""What the customer economics add to ``cintel materialize``: the cintel-potential scoring
and the P&L + lifecycle columns, against the rest of a materialize of the same customers.

    CINTEL_HOME=<home with the four champions and cintel-potential> \
        .venv/bin/python bench/bench_economics.py [--customers 100000] [--data DIR]

Printed: each phase's seconds and the economics' share of the baseline (read + validate,
snapshot, scoring with the four required champions, store write); the target is <= 20 %.
/profile does no per-request work for them (the answer splices the prepared profile).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from serving.batch.materialize import load_champions, score_all, with_economics
from serving.settings import get_service_settings
from serving.store import write_file_store
from training.data.io import load_data
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import build_snapshot
from training.economics.costs import parse_costs
from training.potential.model import OUTPUTS

COSTS = {
    "per_order": {"default": 0.5, "store": 2.0, "online": 1.0},
    "per_return": 4.0,
    "acquisition": {"by": "acquisition_channel", "costs": {"default": 10.0, "web": 25.0}},
}
TARGET = 0.20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    folder = args.data or Path(tempfile.mkdtemp(prefix="bench-econ-"))
    if not (folder / "transactions.parquet").exists():
        sim = synthesize(SynthConfig(n_customers=args.customers, seed=11))
        folder.mkdir(parents=True, exist_ok=True)
        sim.transactions.to_parquet(folder / "transactions.parquet", index=False)
        sim.customers.to_parquet(folder / "customers.parquet", index=False)
    base: dict[str, float] = {}
    econ: dict[str, float] = {}
    t = time.perf_counter()
    data = load_data(folder)
    base["read + validate"] = time.perf_counter() - t
    settings = get_service_settings()
    scorers, _ = load_champions(settings, optional=True)
    potential = {"potential": scorers.pop("potential")}
    scorers = {k: v for k, v in scorers.items() if k != "uplift"}
    t = time.perf_counter()
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    base["snapshot"] = time.perf_counter() - t
    t = time.perf_counter()
    profiles = score_all(features, scorers)
    base["scoring (4 required champions)"] = time.perf_counter() - t
    t = time.perf_counter()
    extra = score_all(features, potential)
    econ["cintel-potential scoring"] = time.perf_counter() - t
    profiles = pd.concat([profiles, extra[list(OUTPUTS)]], axis=1)
    t = time.perf_counter()
    costs = parse_costs(COSTS, "bench costs")
    profiles = with_economics(profiles, data, snap.as_of, costs, settings)
    econ["P&L + lifecycle columns"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_file_store(profiles, {"as_of": snap.as_of.isoformat(), "versions": {}}, Path(tmp))
        base["store write (with the economics columns)"] = time.perf_counter() - t
    total = sum(base.values())
    print(f"{len(profiles):,} customers, {len(data.transactions):,} transactions")
    for name, s in {**base, **econ}.items():
        print(f"  {name:45s} {s:7.2f} s")
    added = sum(econ.values())
    print(
        f"economics add {added:.2f} s to {total:.2f} s: {added / total:.1%} "
        f"(target <= {TARGET:.0%})"
    )


if __name__ == "__main__":
    main()
