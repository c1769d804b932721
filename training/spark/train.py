"""``cintel train --engine spark``: Spark snapshots, the boosters trained on Spark.

What runs where:

- validation and both snapshots (training at as_of − 2H, evaluation at as_of − H) are
  computed on Spark from one validated read;
- churn, propensity and CLV fit on the whole training snapshot on Spark, with
  ``xgboost.spark`` (``training.spark.churn``, ``.propensity``, ``.clv``);
- the driver gets a seeded sample of at most ``driver_rows`` customers of each snapshot
  (the same customers in both: a hash of the id) for what runs on one machine: the
  segments fit (k-means and the membership model), the evaluation and the gate, and
  MLflow logging (report artifacts, reference sample). A million customers estimate an
  AUC or a Gini to about ±0.001, well inside the gate's tolerance; MLflow records the
  sample and the full sizes (``driver_sample_rows``, ``n_*_customers_total``).

Without a pandas transaction table the propensity report has no basket rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from training.mlops.tracking import configure_tracking
from training.pipeline import (
    DEFAULT_TOLERANCE,
    Fitter,
    TrainResult,
    train_snapshots,
    windows,
)
from training.tasks import MODELS, TASKS, task

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from training.data.snapshot import Snapshot
    from training.spark.snapshot import SparkSnapshot

DRIVER_ROWS = 1_000_000


def _fit_on_spark(
    fit: Callable[..., Any], snapshot: SparkSnapshot, num_workers: int | None, _sample: Snapshot
) -> Any:
    return fit(snapshot, num_workers=num_workers)


def train_spark(
    tx_path: str,
    customers_path: str,
    spark: SparkSession,
    as_of: pd.Timestamp | None = None,
    horizon_days: int = 90,
    models: Sequence[str] = MODELS,
    tolerance: float = DEFAULT_TOLERANCE,
    num_workers: int | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    driver_rows: int = DRIVER_ROWS,
) -> list[TrainResult]:
    """``training.pipeline.train`` with the Spark engine (see the module docstring)."""
    from training.spark.read import read_clean
    from training.spark.session import require_classic
    from training.spark.snapshot import (
        cached,
        cached_snapshot,
        default_as_of_spark,
        snapshot_from_clean,
        unpersist,
    )

    for model in models:
        task(model)  # unknown names fail before any work
    require_classic(spark)  # xgboost.spark needs a SparkContext: say so before any work
    progress("validating the data on Spark")
    clean = read_clean(spark, tx_path, customers_path)
    end = default_as_of_spark(clean) if as_of is None else pd.Timestamp(as_of)
    t0, t1 = windows(end, horizon_days)
    first = pd.Timestamp(clean.first_ns)
    if t0 <= first:
        raise ValueError(
            f"the data starts on {first:%Y-%m-%d}, but training with --horizon-days "
            f"{horizon_days} up to {end:%Y-%m-%d} needs history before {t0:%Y-%m-%d} "
            f"(two horizons before as_of); use a shorter horizon or more data"
        )
    clean = cached(clean)  # read by both snapshots and every label window
    train_snap = eval_snap = None
    try:
        train_snap = cached_snapshot(
            snapshot_from_clean(clean, t0, horizon_days, require_labels=True)
        )
        eval_snap = cached_snapshot(
            snapshot_from_clean(clean, t1, horizon_days, require_labels=True)
        )
        on_spark: dict[str, Callable[..., Any]] = {
            t.name: t.spark_fit_loader() for t in TASKS if t.spark_fit_loader is not None
        }
        # each ignores the driver's sample it is handed and fits the whole Spark snapshot
        fitters: dict[str, Fitter] = {
            name: partial(_fit_on_spark, on_spark[name], train_snap, num_workers)
            for name in models
            if name in on_spark
        }
        progress("computing the snapshots on Spark and collecting the driver's sample")
        n_train, n_eval = train_snap.frame.count(), eval_snap.frame.count()
        share = min(1.0, driver_rows / max(n_train, n_eval, 1))
        train_pd, eval_pd = train_snap.to_snapshot(share), eval_snap.to_snapshot(share)
        configure_tracking()
        params = {
            "engine": "spark",
            "driver_sample_rows": len(train_pd.frame),
            "n_train_customers_total": n_train,
            "n_eval_customers_total": n_eval,
        }
        return train_snapshots(
            train_pd, eval_pd, models, tolerance, None, fitters, progress=progress,
            extra_params=params,
        )  # fmt: skip
    finally:
        for snap in (train_snap, eval_snap):
            if snap is not None:
                snap.frame.unpersist()
        unpersist(clean)
