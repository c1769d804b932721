"""Distributed XGBoost fits shared by the Spark engine's models (``xgboost.spark``).

A model builds a design frame (one float column per feature, the label, a split column),
marks its validation rows and calls ``fit_booster`` with the pandas fit's parameters; the
result is a plain ``xgboost.Booster`` cut at the best iteration, as the pandas fits keep.
Splits come from a hash of ``customer_id``, so they do not depend on the partitioning.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from training.spark.session import require_classic

if TYPE_CHECKING:
    import xgboost as xgb
    from pyspark.sql import Column, DataFrame

VALID = "_cintel_valid"
HASH_BUCKETS = 1_000_000


def hash_unit(seed: int) -> Column:
    """A number in [0, 1) from a hash of ``customer_id`` and ``seed`` (stable everywhere)."""
    from pyspark.sql import functions as F

    h = F.pmod(F.xxhash64(F.col("customer_id").cast("string"), F.lit(seed)), HASH_BUCKETS)
    return h / float(HASH_BUCKETS)


def spark_params(
    params: dict[str, Any], rounds: int, patience: int, classifier: bool
) -> dict[str, Any]:
    """A pandas fit's ``xgb.train`` parameters in the names the Spark estimators take:
    rounds and patience as ``n_estimators``/``early_stopping_rounds``, ``seed`` as
    ``random_state``; threads and the tree method are ``fit_booster``'s, and a
    classifier's objective is the estimator's own."""
    dropped = ("nthread", "tree_method", "seed") + (("objective",) if classifier else ())
    out = {k: v for k, v in params.items() if k not in dropped}
    return {
        **out,
        "n_estimators": rounds,
        "early_stopping_rounds": patience,
        "random_state": params["seed"],
    }


def top_values(frame: DataFrame, col: str, limit: int) -> list[str]:
    """The ``limit`` most frequent non-null values of ``col`` as text (ties by value), sorted."""
    from pyspark.sql import functions as F

    value = F.col(col).cast("string")
    top = (
        frame.where(F.col(col).isNotNull())
        .groupBy(value.alias("v"))
        .count()
        .orderBy(F.desc("count"), F.asc("v"))
        .limit(limit)
        .collect()
    )
    return sorted(r["v"] for r in top)


def default_workers(frame: DataFrame) -> int:
    """The session's default parallelism (1 under Spark Connect, which has no SparkContext)."""
    try:
        return max(1, frame.sparkSession.sparkContext.defaultParallelism)
    except Exception:  # pyspark.errors differ between classic and Connect
        return 1


def fit_booster(
    train: DataFrame,
    features: list[str],
    label: str,
    params: dict[str, Any],
    *,
    regression: bool = False,
    num_workers: int | None = None,
    feature_types: list[str] | None = None,
    names: list[str] | None = None,
    base_margin: str | None = None,
    nthread: int = 1,
) -> xgb.Booster:
    """Fit ``SparkXGBClassifier`` (or ``SparkXGBRegressor``) on ``train``, whose boolean
    ``VALID`` column marks the early-stopping rows; keep the trees up to the best iteration.

    ``names`` are the booster's feature names when the frame's columns differ (Spark
    column names cannot hold every character a feature name may have).
    ``params`` are the sklearn-style names the estimators take (``n_estimators``,
    ``learning_rate``, ``early_stopping_rounds``, ``objective`` for a regressor...).
    A Spark Connect session raises ``ValueError``: xgboost.spark needs a SparkContext."""
    from xgboost.spark import SparkXGBClassifier, SparkXGBRegressor

    require_classic(train.sparkSession)

    estimator = SparkXGBRegressor if regression else SparkXGBClassifier
    extra: dict[str, Any] = {}
    if feature_types is not None:
        extra["feature_types"] = list(feature_types)
    if base_margin is not None:
        extra["base_margin_col"] = base_margin
    model = estimator(
        features_col=list(features),
        label_col=label,
        validation_indicator_col=VALID,
        num_workers=num_workers or default_workers(train),
        missing=np.nan,
        tree_method="hist",
        verbose=False,
        **extra,
        **params,
    )
    for name in ("XGBoost-PySpark", type(model).__name__):  # INFO per fit otherwise
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    booster: xgb.Booster = model.fit(train).get_booster()
    best = getattr(booster, "best_iteration", None)
    if best is not None:
        booster = booster[: int(best) + 1]
    booster.feature_names = list(names or features)
    if feature_types is not None:
        booster.feature_types = list(feature_types)
    booster.set_param({"nthread": nthread})
    return booster
