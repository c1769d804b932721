"""Cross-sell propensity fitted on Spark: one distributed XGBoost booster per (kind, family).

The same model as ``training.propensity.fit`` (layout, parameters, early stopping, skip
rules, shared through ``fit_all``), computed without collecting the snapshot: the
attributes' kept values are Spark aggregates, the design matrix is ``Design.transform``
per Arrow batch, and each booster comes from ``SparkXGBClassifier``. The validation rows
are a hash of ``customer_id`` (not stratified as in the pandas fit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

from training.propensity.config import PropensityConfig
from training.propensity.encoding import MAX_CATEGORIES, Design
from training.propensity.fit import check_snapshot, fit_all
from training.propensity.model import KINDS, PropensityModel, label_column
from training.propensity.train import booster_params
from training.spark.session import persisted
from training.spark.xgb import VALID, fit_booster, hash_unit, spark_params, top_values

if TYPE_CHECKING:
    import xgboost as xgb
    from pyspark.sql import DataFrame

    from training.spark.snapshot import SparkSnapshot


def design_spark(frame: DataFrame, columns: list[str]) -> Design:
    """``Design.fit`` on Spark: text ``attr_*`` columns keep their most frequent values."""
    from pyspark.sql import types as T

    numeric, categories = [], {}
    for col in columns:
        text = not isinstance(frame.schema[col].dataType, (T.NumericType, T.BooleanType))
        if col.startswith("attr_") and text:
            categories[col] = tuple(top_values(frame, col, MAX_CATEGORIES))
        else:
            numeric.append(col)
    return Design(tuple(numeric), categories)


def matrix_columns(design: Design) -> list[str]:
    """Spark names of the design columns (feature names may hold ``=`` and spaces)."""
    return [f"_x{i}" for i in range(len(design.names))]


def design_frame(frame: DataFrame, design: Design, labels: list[str]) -> DataFrame:
    """customer_id, the design matrix (float) and the label columns, per Arrow batch."""
    from pyspark.sql import types as T

    columns = matrix_columns(design)
    schema = T.StructType(
        [frame.schema["customer_id"]]
        + [T.StructField(c, T.FloatType()) for c in columns]
        + [T.StructField(c, T.DoubleType()) for c in labels]
    )

    def encode(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            out = pd.DataFrame(design.transform(batch).astype("float32"), columns=columns)
            out.insert(0, "customer_id", batch["customer_id"].to_numpy())
            for c in labels:
                out[c] = batch[c].to_numpy(dtype="float64")
            yield out

    return frame.mapInPandas(encode, schema)


def fit_propensity_spark(
    snapshot: SparkSnapshot,
    config: PropensityConfig | None = None,
    num_workers: int | None = None,
) -> PropensityModel:
    """Train every (kind, family) booster on a labelled Spark snapshot."""
    from pyspark.sql import functions as F

    config = PropensityConfig() if config is None else config
    frame = snapshot.frame
    fam_slugs = check_snapshot(
        snapshot.labelled, snapshot.families, list(frame.columns), frame.count()
    )
    labels = [label_column(k, s) for k in KINDS for s in fam_slugs]
    row = frame.agg(
        *[F.sum(c).alias(f"pos{i}") for i, c in enumerate(labels)],
        *[F.count(c).alias(f"n{i}") for i, c in enumerate(labels)],
    ).first()
    assert row is not None  # an aggregate has one row
    counts = {c: (int(row[f"pos{i}"] or 0), int(row[f"n{i}"])) for i, c in enumerate(labels)}
    design = design_spark(frame, list(snapshot.feature_columns))

    def train(column: str, seed: int) -> xgb.Booster:
        rows = matrix.where(F.col(column).isNotNull())
        rows = rows.withColumn(VALID, hash_unit(seed) < config.valid_fraction)
        return fit_booster(
            rows,
            matrix_columns(design),
            column,
            spark_params(
                booster_params(config, seed),
                config.n_estimators,
                config.early_stopping_rounds,
                True,
            ),
            num_workers=num_workers,
            names=design.names,
            nthread=config.n_jobs,
        )

    # ``train`` reads the cached matrix once per booster
    with persisted(design_frame(frame, design, labels)) as matrix:
        boosters, skipped, n_train = fit_all(fam_slugs, config, counts.__getitem__, train)
    return PropensityModel(snapshot.families, design, boosters, skipped, config, n_train)
