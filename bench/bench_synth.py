"""Synthetic-data generation speed against a naive per-customer loop, in the same run.

    python bench/bench_synth.py --customers 100000,1000000

Each size runs ``synthesize`` (no Parquet writing) in a fresh process and reports rows,
wall and CPU seconds, rows per second and peak memory. The baseline, timed on a small
subset in this run, is the obvious implementation of the same model: a Python loop per
customer and per purchase (exponential gaps, dropout coin after each purchase, lines,
Gamma spend, returns) with the ``random`` module. Its rows per second is extrapolated
per transaction. CPU seconds are printed beside wall seconds because the machine may be
shared; the ratio uses CPU time for both sides.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import subprocess
import sys
import time

YEARS = ("2024-01-01", "2025-12-31")
FAMILIES = ("fresh_food", "bakery", "household", "electronics", "beauty", "wine")


def naive_rows(n_customers: int, seed: int = 0) -> list[tuple[object, ...]]:
    """The same BG/NBD + lines + returns model, one customer and one purchase at a time."""
    rnd = random.Random(seed)
    days = 731.0 + 90.0
    rows: list[tuple[object, ...]] = []
    for cid in range(1, n_customers + 1):
        rate = rnd.gammavariate(2.0, 25.0 / 2.0) / 365.25
        dropout = rnd.betavariate(1.2, 45.0)
        weights = [rnd.random() + 0.1 for _ in FAMILIES]
        spend = rnd.gammavariate(6.0, 1.0 / 6.0)
        t = rnd.uniform(0.0, 731.0)
        while t < days:
            lines = 1 + int(rnd.expovariate(1.0) * 1.6)
            for line in range(lines):
                family = rnd.choices(FAMILIES, weights)[0]
                units = 1 + int(rnd.expovariate(1.0) * 1.2)
                amount = round(rnd.gammavariate(4.0, 0.25) * units * 5.0 * spend, 2)
                ts = t + line / 86400.0
                rows.append((cid, ts, amount, round(amount * 0.3, 2), family, "store", units))
                if rnd.random() < 0.04:
                    back = ts + 1 + int(rnd.expovariate(1 / 6.0))
                    rows.append((cid, back, -amount, round(-amount * 0.7, 2), family, "store"))
            if rnd.random() < dropout:
                break
            t += rnd.expovariate(rate) if rate > 0 else math.inf
    return rows


def worker(n: int) -> None:
    """Synthesize ``n`` customers in this process; print a JSON line of figures."""
    from training.data.simulator.simulate import SynthConfig, synthesize

    wall, cpu = time.perf_counter(), time.process_time()
    data = synthesize(SynthConfig(n_customers=n, start=YEARS[0], end=YEARS[1]))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tx, cu = data.transactions, data.customers
    years = float((tx["ts"].max() - cu["signup_date"]).dt.days.sum()) / 365.25
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": len(tx),
                "wall_s": wall,
                "cpu_s": cpu,
                "rows_per_customer_year": len(tx) / years,
                "peak_mb": peak_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--baseline-customers", type=int, default=3000)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return

    cpu = time.process_time()
    base_rows = len(naive_rows(args.baseline_customers))
    base_cpu = time.process_time() - cpu
    base_rate = base_rows / base_cpu
    print(
        f"baseline  naive per-customer Python loop: {args.baseline_customers:,} customers, "
        f"{base_rows:,} rows, {base_cpu:.2f} s CPU -> {base_rate / 1e6:.3f} M rows/s"
    )
    print(
        f"{'customers':>10} {'rows':>12} {'rows/cust-yr':>12} {'wall s':>8} {'cpu s':>8} "
        f"{'M rows/s wall':>13} {'M rows/s cpu':>12} {'x baseline':>10} {'peak MB':>8}"
    )
    for n in (int(x) for x in args.customers.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(n)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rate_cpu = r["rows"] / r["cpu_s"]
        print(
            f"{n:>10,} {r['rows']:>12,} {r['rows_per_customer_year']:>12.1f} "
            f"{r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} {r['rows'] / r['wall_s'] / 1e6:>13.2f} "
            f"{rate_cpu / 1e6:>12.2f} {rate_cpu / base_rate:>10.1f} {r['peak_mb']:>8.0f}"
        )


if __name__ == "__main__":
    main()
