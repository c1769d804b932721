"""Training cost per stage on simulated customers, and the scale curve.

    python bench/bench_train.py --customers 10000,100000

Each size runs in a fresh process with its own CINTEL_HOME (embedded MLflow): simulate two
years, validate, build both snapshots, then fit + evaluate + log + register + gate each
model (``training.pipeline.train_one``). Prints wall time and peak RSS per stage; the
baseline is the same run's snapshot stage (the cheapest step every model needs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(n: int) -> None:
    from training.data.contract import validate
    from training.data.simulator.simulate import SynthConfig, synthesize
    from training.mlops.tracking import configure_tracking
    from training.pipeline import build_snapshots, train_one
    from training.tasks import MODELS

    stages: list[tuple[str, float, float]] = []
    t = time.perf_counter()
    sim = synthesize(SynthConfig(n_customers=n, start="2024-01-01", end="2025-12-31"))
    data = validate(sim.transactions, sim.customers)
    stages.append(("simulate+validate", time.perf_counter() - t, _peak_mb()))
    configure_tracking()
    t = time.perf_counter()
    train, evaluation = build_snapshots(data, None, 90)
    stages.append(("snapshots", time.perf_counter() - t, _peak_mb()))
    for model in MODELS:
        t = time.perf_counter()
        result = train_one(model, data, train, evaluation, 0.005)
        stages.append((f"{model} ({result.decision})", time.perf_counter() - t, _peak_mb()))
    print(json.dumps({"n": n, "tx": len(data.transactions), "stages": stages}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="10000,100000")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    for n in [int(x) for x in args.customers.split(",")]:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "CINTEL_HOME": home}
            env.pop("MLFLOW_TRACKING_URI", None)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(n)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        stages = r["stages"]
        snap_s = stages[1][1]
        train_total = sum(s for name, s, _ in stages[1:])
        print(
            f"\n{r['n']:,} customers, {r['tx']:,} transactions: train end to end "
            f"{train_total:.1f} s (target at 100k: < 300 s)"
        )
        print(f"  {'stage':<28}{'seconds':>9}{'x snapshots':>13}{'peak MB':>10}")
        for name, secs, peak in stages:
            print(f"  {name:<28}{secs:>9.1f}{secs / snap_s:>13.1f}{peak:>10,.0f}")


if __name__ == "__main__":
    main()
