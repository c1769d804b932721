"""The demo loop's campaign world: a larger customer base than the demo's first part, and
the decision log of that campaign alone.

Why a larger world: the uplift gate judges a ranking by its held-out Qini against the Qini
that random rankings of the same customers reach. On the demo's 4,000 customers the
cross-sell test gives ~2,400 customers with a decision, ~740 held out, split over six
families; random rankings then reach a mean Qini of 0.054 (95th percentile) while the
pooled X-learner's expected Qini (outcomes replaced by the simulator's true probabilities)
is ~0.057, so the verdict is a coin toss (0.012 on main, 0.082 on an earlier branch).
More randomized decisions narrow the null and feed the learner: on 20,000 customers
(``WORLD_FACTOR`` 5) ~6,900 customers have a cross-sell decision, random rankings reach 0.040
and the model's expected Qini is 0.106 (held-out 0.133; world seeds 2 and 3: random 0.034
and 0.043, held-out 0.089 and 0.091; at 12,000: 0.045, 0.073 and 0.107).
The world is the same simulator with the same settings (drift included) and another seed,
scored by the champions the demo trained.

Why its own decision log: the demo's earlier traffic was answered from other customers (the
first world, partly from the April store); replayed at the data end it would pair those
customers' stale decisions with this world's outcomes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

WORLD_FACTOR = 5  # the campaign world has this many times the demo's customers
WORLD_SEED = 1  # other customers than the first world's (seed 0)


def build_world(dst: Path, n_customers: int) -> Path:
    """Simulate ``n_customers`` with the demo's settings into ``dst`` (the data folder)."""
    from monitoring.demo import DRIFT_START, END, START
    from training.data.simulator.simulate import SynthConfig, synthesize, write_synth

    config = SynthConfig(
        n_customers=n_customers,
        start=START,
        end=END,
        drift="mix",
        drift_start=DRIFT_START,
        seed=WORLD_SEED,
    )
    write_synth(synthesize(config), dst)
    return dst


def wait_for_customer(
    post: Callable[[str, dict[str, Any]], Any], customer_id: str, timeout: float = 60.0
) -> float:
    """Seconds until the running service knows ``customer_id`` (it reloads the store on its
    next poll); TimeoutError naming the customer after ``timeout``."""
    started = time.monotonic()
    while True:
        body = post("/profiles", {"customer_ids": [customer_id]})
        if not body.get("not_found"):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(
                f"the service still does not know customer {customer_id} {timeout:.0f} s "
                "after the campaign world's store was published; see service.log"
            )
        time.sleep(0.5)


def decisions_since(src: Path, dst: Path, since: datetime) -> int:
    """Copy the decision records of ``src`` made at or after ``since`` (timezone-aware)
    into ``dst`` (same file names); the number of records copied. Unreadable lines (a torn
    last line) are left behind, as ``read_decisions`` skips them."""
    dst.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in sorted(src.glob("*.jsonl")):
        kept: list[bytes] = []
        for line in path.read_bytes().splitlines():
            try:
                ts = datetime.fromisoformat(orjson.loads(line)["ts"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            if ts.tzinfo is not None and ts >= since:
                kept.append(line)
        if kept:
            (dst / path.name).write_bytes(b"\n".join(kept) + b"\n")
            copied += len(kept)
    return copied


def against_truth(data_dir: Path, inputs: Any, version: str) -> dict[str, float]:
    """``cintel-uplift`` version ``version`` against the simulator's true uplift on the
    held-out customers of the same tables (``training.uplift.truth``); empty without the
    truth file."""
    import tempfile

    import pandas as pd

    from training.data.io import load_data
    from training.mlops.modellog import download_bundle
    from training.uplift import UpliftModel, build_tables
    from training.uplift.truth import truth_agreement

    truth_path = data_dir / "ground_truth_responses.parquet"
    if not truth_path.exists():
        return {}
    _train, held = build_tables(load_data(data_dir), inputs)
    with tempfile.TemporaryDirectory() as tmp:
        model = UpliftModel.load(download_bundle("uplift", version, Path(tmp)))
    figures = truth_agreement(model, held, pd.read_parquet(truth_path))
    log_truth(version, figures)
    return figures


def log_truth(version: str, figures: dict[str, float]) -> None:
    """The figures as ``truth.<name>`` metrics of the training run behind ``cintel-uplift``
    version ``version``, so the MLflow UI shows them beside its Qini."""
    from mlflow import MlflowClient

    from training.mlops.tracking import model_name

    client = MlflowClient()
    run_id = client.get_model_version(model_name("uplift"), str(version)).run_id
    if run_id:
        for name, value in figures.items():
            client.log_metric(run_id, f"truth.{name}", float(value))


def describe_truth(figures: dict[str, float]) -> str:
    """One line: the learned uplift's rank correlation with the true one, and the true
    average effects it ranks."""
    if "spearman_true" not in figures:
        return "no simulator truth to compare the learned uplift with"
    ates = [v for k, v in figures.items() if k.startswith("true_ate__") and k != "true_ate__any"]
    spread = f" ({100 * min(ates):.0f} to {100 * max(ates):.0f} by family)" if ates else ""
    return (
        f"against the simulator's true uplift ({int(figures['n_truth']):,} held-out customer "
        f"and family pairs): rank correlation {figures['spearman_true']:+.2f}, "
        f"{figures['true_gain']:.2f} of the true order's gain; true average effect of the "
        f"cross-sell offers {100 * figures['true_ate']:+.1f} points{spread}"
    )
