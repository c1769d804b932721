"""What a /prospect answer costs: validation, the three boosters and the ranking, in process.

    .venv/bin/python bench/bench_prospects.py [--customers 4000] [--repeat 30]

Fits cintel-prospect on the simulator's signup cohorts (no MLflow) and times
``serving.prospects.answer_body`` for 1, 100 and 1,000 prospects, in CPU time of this
thread (the wall time on a shared, loaded box measures the neighbours) and wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time

from threadpoolctl import threadpool_limits

from serving.prospect_schemas import ProspectRequest
from serving.prospects import answer_body
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.prospect import build_cohorts, fit

ATTRIBUTES = ("age_band", "region", "acquisition_channel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sim = synthesize(SynthConfig(n_customers=args.customers, seed=0))
    model = fit(build_cohorts(validate(sim.transactions, sim.customers))[0])
    people = sim.customers.head(1000).to_dict("records")
    with threadpool_limits(1):
        for n in (1, 100, 1000):
            request = ProspectRequest.model_validate(
                {
                    "prospects": [
                        {"prospect_id": f"p{i}", "attributes": {a: str(p[a]) for a in ATTRIBUTES}}
                        for i, p in enumerate(people[:n])
                    ]
                }
            )
            answer_body(model, "1", request)  # warm
            cpu, wall = [], []
            for _ in range(args.repeat):
                c, w = time.process_time(), time.perf_counter()
                answer_body(model, "1", request)
                cpu.append((time.process_time() - c) * 1000)
                wall.append((time.perf_counter() - w) * 1000)
            print(
                f"{n:>5} prospects: CPU median {statistics.median(cpu):.2f} ms "
                f"({statistics.median(cpu) / n * 1000:.1f} us each), "
                f"wall median {statistics.median(wall):.2f} ms"
            )


if __name__ == "__main__":
    main()
