"""What the cells and micro-segments add to ``cintel materialize``: ``with_cells`` on a
store-like frame of N customers (8 segments, 5 tiers, 6 stages, 4 channels: 960 fine cells),
no models needed.

    .venv/bin/python bench/bench_cells.py [--customers 1000000] [--repeat 3]

Printed: the best of ``--repeat`` runs in seconds and µs per customer, and the share of a
materialize of as many customers at the README's rate (74 s per 100,000 customers on a
loaded 2-core machine, bench/bench_economics.py); the issue's budget is 20 % for all the
economics together.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from serving.batch.materialize_cells import with_cells
from training.economics.cells_config import CellsConfig

MATERIALIZE_S_PER_CUSTOMER = 74.0 / 100_000


def frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scored store's cell inputs and the channel-share features of ``n`` customers."""
    rng = np.random.default_rng(seed)
    tiers = np.array(["platinum", "gold", "silver", "bronze", "value_destroyer"], dtype=object)
    stages = np.array(["new", "active", "developing", "at risk", "lapsed", "won back"], object)
    segments = np.array([f"segment_{i}" for i in range(8)], dtype=object)
    profiles = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "value_tier": tiers[rng.integers(0, 5, n)],
            "segment_id": segments[rng.integers(0, 8, n)],
            "lifecycle_stage": stages[rng.integers(0, 6, n)],
            "churn_probability": rng.random(n),
            "potential_headroom": rng.gamma(2.0, 100.0, n),
            "share_of_wallet": rng.random(n),
        }
    )
    features = pd.DataFrame(
        {f"chan_share__{c}": rng.random(n) for c in ("web", "shop", "phone", "app")}
    )
    return profiles, features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    profiles, features = frames(args.customers)
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        _, meta = with_cells(profiles, features, CellsConfig())
        best = min(best, time.perf_counter() - start)
    n = args.customers
    share = best / (MATERIALIZE_S_PER_CUSTOMER * n)
    print(
        f"with_cells, {n:,} customers: {best:.2f} s ({1e6 * best / n:.1f} µs a customer), "
        f"{len(meta['micro_sizes'])} micro-segments; {100 * share:.1f} % of a materialize "
        f"at the README's rate"
    )


if __name__ == "__main__":
    main()
