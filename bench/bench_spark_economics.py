"""Spark materialize with issue 15's economics (CINTEL_ECONOMICS on) against without (off).

    python bench/bench_spark_economics.py --customers 10000 --tracking-uri sqlite:///H/mlflow/mlflow.db
        [--rounds 2]

``--tracking-uri``: a registry with the six store champions (``cintel train`` trains them
by default: churn, churn-partial, propensity, segments, clv, potential). The data are
simulated (seed 7) under bench/results/spark_econ_<n>/ and scored by those champions on
``local[2]``. One warm-up of each setting (JVM, model caches), then ``--rounds`` of off
and on interleaved in one process; prints each wall time and the ratio of the medians.
"on" adds the potential and partial-churn champions' scores, the P&L and lifecycle stages
(a cogrouped applyInPandas) and the cells cut on the driver.
"""

from __future__ import annotations

from runenv import pin_threads

pin_threads()  # before numpy

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from serving.batch.spark_materialize import materialize_spark
    from serving.settings import ServiceSettings
    from training.data.contract import validate
    from training.data.simulator.simulate import SynthConfig, synthesize
    from training.spark.session import get_spark

    root = RESULTS / f"spark_econ_{args.customers}"
    tx, cu = root / "transactions.parquet", root / "customers.parquet"
    if not tx.exists():
        root.mkdir(parents=True, exist_ok=True)
        sim = synthesize(SynthConfig(n_customers=args.customers, end="2025-06-30", seed=7))
        data = validate(sim.transactions, sim.customers)
        data.transactions.to_parquet(tx, index=False)
        data.customers.to_parquet(cu, index=False)
    spark = get_spark("local[2]")

    def run(economics: str) -> float:
        settings = ServiceSettings(home=root / f"home-{economics}").model_copy(
            update={"mlflow_tracking_uri": args.tracking_uri, "economics": economics}
        )
        start = time.perf_counter()
        materialize_spark(str(tx), str(cu), settings, spark)
        return time.perf_counter() - start

    for economics in ("on", "off"):  # warm-up: the JVM, each home's model cache
        run(economics)
    seconds: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.rounds):
        for economics in ("off", "on"):
            seconds[economics].append(round(run(economics), 1))
            print(economics, seconds[economics][-1], flush=True)
    ratio = statistics.median(seconds["on"]) / statistics.median(seconds["off"])
    print(json.dumps({"customers": args.customers, "seconds": seconds, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()
