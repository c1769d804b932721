"""``cintel train --engine spark``: Spark snapshots, the churn booster trained on Spark.

What runs where: validation and both snapshots (training at as_of − 2H, evaluation at
as_of − H) are computed on Spark from one validated read; the churn model is fitted on
Spark with ``xgboost.spark`` (``training.spark.churn``). The snapshots are then collected
to the driver as pandas frames for what still runs on one machine: the evaluation and the
gate, MLflow logging (reference sample, report artifacts) and the propensity, segments and
CLV fits. Without a pandas transaction table the propensity report has no basket rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from training.pipeline import DEFAULT_TOLERANCE, TrainResult, task_module, train_snapshots, windows
from training.tracking import MODELS, configure_tracking

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_FITTED = ("churn",)  # the models whose fit runs on Spark; the others on the driver


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
) -> list[TrainResult]:
    """``training.pipeline.train`` with the Spark engine (see the module docstring)."""
    from training.spark.churn import fit_churn_spark
    from training.spark.read import read_clean
    from training.spark.snapshot import (
        cached,
        default_as_of_spark,
        snapshot_from_clean,
        unpersist,
    )

    for model in models:
        task_module(model)  # unknown names fail before any work
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
    try:
        train_snap = snapshot_from_clean(clean, t0, horizon_days, require_labels=True)
        eval_snap = snapshot_from_clean(clean, t1, horizon_days, require_labels=True)
        fitters = {}
        if "churn" in models:
            fitters["churn"] = lambda _snap: fit_churn_spark(train_snap, num_workers=num_workers)
        progress("computing the snapshots on Spark and collecting them")
        train_pd, eval_pd = train_snap.to_snapshot(), eval_snap.to_snapshot()
        configure_tracking()
        return train_snapshots(
            train_pd, eval_pd, models, tolerance, None, fitters, progress=progress
        )
    finally:
        unpersist(clean)
