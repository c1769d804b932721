"""Snapshot speed and memory against two baselines measured in the same run.

    python bench/bench_snapshot.py --customers 100000,1000000

For each size: simulated data is written once (cached under bench/results/), then a fresh
process reads, validates and builds the snapshot (wall time and peak RSS). Baselines on
a subset of customers, in the same run: a straightforward pandas groupby-apply, and
lifetimes' ``summary_data_from_transaction_data`` (whose columns must agree with ours).
"""

from __future__ import annotations

from runenv import cached, mark, pin_threads, synth_dir

pin_threads()  # before numpy: explicit thread counts, in this process and its children

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
YEARS = ("2024-01-01", "2025-12-31")
AS_OF = "2025-10-01"


def ensure_data(n: int) -> Path:
    """Simulate ``n`` customers once and keep the files for later runs."""
    from training.data.simulator.simulate import SynthConfig, synthesize, write_synth

    config = SynthConfig(n_customers=n, start=YEARS[0], end=YEARS[1])
    out = synth_dir(config, "write_synth")
    if not cached(out, config, "write_synth"):
        t = time.perf_counter()
        write_synth(synthesize(config), out)
        mark(out, config, "write_synth")
        print(f"  simulated {n:,} customers in {time.perf_counter() - t:.1f} s -> {out}")
    return out


def worker(data_dir: str) -> None:
    """Read, validate and snapshot in this process; print seconds and peak memory."""
    from training.data.io import load_data
    from training.data.snapshot import build_snapshot

    t0, c0 = time.perf_counter(), time.process_time()
    data = load_data(Path(data_dir))
    t1, c1 = time.perf_counter(), time.process_time()
    snap = build_snapshot(data, AS_OF, 90)
    t2, c2 = time.perf_counter(), time.process_time()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "transactions": len(data.transactions),
                "customers": len(snap.frame),
                "load_validate_s": t1 - t0,
                "snapshot_s": t2 - t1,
                # CPU seconds: what a busy shared machine does not hide
                "load_validate_cpu_s": c1 - c0,
                "snapshot_cpu_s": c2 - c1,
                "peak_mb": peak_mb,
                "digest": snap.digest,
            }
        )
    )


def naive_groupby_apply(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Baseline: the straightforward per-customer function most code bases start with."""

    def one(g: pd.DataFrame) -> pd.Series:
        buys = g[g["amount"] > 0]
        days = buys["ts"].dt.normalize().drop_duplicates().sort_values()
        gaps = days.diff().dt.days.dropna()
        return pd.Series(
            {
                "recency_days": (as_of - g["ts"].max()).total_seconds() / 86400,
                "frequency": len(buys),
                "monetary_mean": buys["amount"].mean(),
                "spend_total": g["amount"].sum(),
                "margin_total": g["margin"].sum(),
                "btyd_frequency": len(days) - 1,
                "ipt_mean_days": gaps.mean(),
                "return_rate": (g["amount"] < 0).mean(),
            }
        )

    past = tx[tx["ts"] < as_of]
    return past.groupby("customer_id").apply(one, include_groups=False)


def baselines(data_dir: Path, n_subset: int) -> dict[str, float]:
    """Time both baselines and ours on the same subset; check agreement with lifetimes."""
    from lifetimes.utils import summary_data_from_transaction_data

    from training.data.features import compute_features
    from training.data.io import load_data

    data = load_data(data_dir)
    keep = data.customers["customer_id"].iloc[:n_subset]
    tx = data.transactions[data.transactions["customer_id"].isin(keep)]
    cust = data.customers[data.customers["customer_id"].isin(keep)]
    as_of = pd.Timestamp(AS_OF)
    n_past = int((tx["ts"] < as_of).sum())

    t = time.perf_counter()
    ours = compute_features(tx, cust, as_of)
    t_ours = time.perf_counter() - t

    naive_n = min(n_subset, 5000)
    naive_tx = tx[tx["customer_id"].isin(keep.iloc[:naive_n])]
    t = time.perf_counter()
    naive_groupby_apply(naive_tx, as_of)
    t_naive = time.perf_counter() - t
    naive_rate = int((naive_tx["ts"] < as_of).sum()) / t_naive

    buys = tx[(tx["ts"] < as_of) & (tx["amount"] > 0)]
    t = time.perf_counter()
    lt = summary_data_from_transaction_data(
        buys,
        "customer_id",
        "ts",
        monetary_value_col="amount",
        observation_period_end=as_of - pd.Timedelta(days=1),
        freq="D",
    )
    t_lt = time.perf_counter() - t
    mine = ours.set_index("customer_id").loc[lt.index]
    diffs = {
        "frequency": np.abs(mine["btyd_frequency"] - lt["frequency"]).max(),
        "recency": np.abs(mine["btyd_recency"] - lt["recency"]).max(),
        "T": np.abs(mine["btyd_T"] - lt["T"]).max(),
        "monetary_value": np.abs(mine["btyd_monetary"] - lt["monetary_value"]).max(),
    }
    return {
        "subset_customers": n_subset,
        "subset_transactions": n_past,
        "ours_tx_per_s": n_past / t_ours,
        "naive_tx_per_s": naive_rate,
        "naive_customers": naive_n,
        "lifetimes_tx_per_s": len(buys) / t_lt,
        "max_abs_diff_vs_lifetimes": float(max(diffs.values())),
        **{f"diff_{k}": float(v) for k, v in diffs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", default="100000,1000000")
    parser.add_argument(
        "--subset", type=int, default=50_000, help="customers in the baseline comparison"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    sizes = [int(s) for s in args.customers.split(",")]
    for n in sizes:
        data_dir = ensure_data(n)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(data_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        total = r["load_validate_s"] + r["snapshot_s"]
        print(
            f"{n:>9,} customers {r['transactions']:>11,} tx: read+validate "
            f"{r['load_validate_s']:6.1f} s, snapshot {r['snapshot_s']:6.1f} s, total "
            f"{total:6.1f} s ({r['transactions'] / total:,.0f} tx/s), CPU "
            f"{r['load_validate_cpu_s']:.1f} + {r['snapshot_cpu_s']:.1f} s, "
            f"peak {r['peak_mb']:,.0f} MB, digest {r['digest']}"
        )
    b = baselines(ensure_data(sizes[0]), min(args.subset, sizes[0]))
    print(
        f"\nbaselines on {b['subset_customers']:,} customers ({b['subset_transactions']:,} tx):\n"
        f"  ours (compute_features)        {b['ours_tx_per_s']:>14,.0f} tx/s\n"
        f"  pandas groupby-apply ({b['naive_customers']:,} cust) "
        f"{b['naive_tx_per_s']:>9,.0f} tx/s   ratio ours/naive "
        f"{b['ours_tx_per_s'] / b['naive_tx_per_s']:,.0f}x\n"
        f"  lifetimes summary_data_from_transaction_data {b['lifetimes_tx_per_s']:>10,.0f} tx/s"
        f"   ratio ours/lifetimes {b['ours_tx_per_s'] / b['lifetimes_tx_per_s']:,.1f}x\n"
        f"  agreement with lifetimes (frequency, recency, T, monetary_value): max |diff| "
        f"{b['max_abs_diff_vs_lifetimes']:.2e}"
    )


if __name__ == "__main__":
    main()
