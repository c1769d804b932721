"""The churn model fitted on Spark: distributed XGBoost (``xgboost.spark``) on a Spark snapshot.

Same model as ``training.churn.fit`` (encoding, monotone recency, early stopping on a
validation split, isotonic calibration on a held-out split, reason table), computed
without collecting the snapshot: the encoding's category lists and the reason medians are
Spark aggregates, the design matrix is ``training.churn.encoding.design_matrix`` per Arrow
batch, and the booster comes from ``SparkXGBClassifier`` with ``num_workers`` tasks. Only
the calibration split's scores and labels (two numbers per customer) reach the driver.

Splits are a hash of ``customer_id`` (stable across partitionings), not stratified as in
the pandas fit; both engines give the same kind of model, not the same trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from training.churn.calibration import fit_isotonic
from training.churn.config import ChurnConfig
from training.churn.encoding import MAX_CATEGORIES, Encoding, design_matrix
from training.churn.fit import booster_params, reason_table
from training.churn.model import ChurnModel
from training.churn.rows import TARGETS, check_labels
from training.spark.session import persisted
from training.spark.xgb import VALID, fit_booster, hash_unit, spark_params, top_values

if TYPE_CHECKING:
    import xgboost as xgb
    from pyspark.sql import Column, DataFrame

    from training.spark.snapshot import SparkSnapshot

SPLIT, LABEL = "_cintel_split", "_cintel_label"
RAW = "_cintel_raw"


def fit_encoding_spark(frame: DataFrame, feature_columns: list[str]) -> Encoding:
    """``fit_encoding`` on Spark: text columns are categorical with their most frequent
    values (ties by value, at most ``MAX_CATEGORIES``), the rest numeric."""
    from pyspark.sql import types as T

    types, categories = [], {}
    for col in feature_columns:
        if isinstance(frame.schema[col].dataType, (T.NumericType, T.BooleanType)):
            types.append("q")
            continue
        categories[col] = top_values(frame, col, MAX_CATEGORIES)
        types.append("c")
    return Encoding(tuple(feature_columns), tuple(types), categories)


def _split(config: ChurnConfig) -> Column:
    """0 train, 1 validation (early stopping), 2 calibration: from a hash of the id."""
    from pyspark.sql import functions as F

    u = hash_unit(config.seed)
    return (
        F.when(u < config.valid_fraction, 1)
        .when(u < config.valid_fraction + config.calib_fraction, 2)
        .otherwise(0)
    )


def design_frame(rows: DataFrame, enc: Encoding, label: str) -> DataFrame:
    """The float design matrix (one column per feature), the label and the split, computed
    per Arrow batch with the pandas engine's ``design_matrix``."""
    from pyspark.sql import types as T

    names = list(enc.feature_names)
    schema = T.StructType(
        [T.StructField(n, T.FloatType()) for n in names]
        + [T.StructField(LABEL, T.DoubleType()), T.StructField(SPLIT, T.IntegerType())]
    )

    def encode(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            x = design_matrix(enc, batch)
            out = pd.DataFrame(x, columns=names)
            out[LABEL] = batch[label].to_numpy(dtype="float64")
            out[SPLIT] = batch[SPLIT].to_numpy(dtype="int32")
            yield out

    return rows.mapInPandas(encode, schema)


def _medians(design: DataFrame, enc: Encoding) -> dict[str, float]:
    """Exact training medians of the numeric features (the reason table's high/low line)."""
    from pyspark.sql import functions as F

    numeric = [n for n, t in zip(enc.feature_names, enc.feature_types, strict=True) if t == "q"]
    finite = [F.when(~F.isnan(F.col(n)), F.col(n).cast("double")) for n in numeric]
    row = design.where(F.col(SPLIT) == 0).agg(*[F.median(c) for c in finite]).first()
    assert row is not None
    return {n: np.nan if v is None else float(v) for n, v in zip(numeric, row, strict=True)}


def fit_churn_spark(
    snapshot: SparkSnapshot, config: ChurnConfig | None = None, num_workers: int | None = None
) -> ChurnModel:
    """Train the churn model on a labelled Spark snapshot; ``num_workers`` XGBoost tasks
    (default: the session's default parallelism)."""
    from pyspark.sql import functions as F

    config = ChurnConfig() if config is None else config
    column = TARGETS[config.target]
    if not snapshot.labelled or column not in snapshot.frame.columns:
        raise ValueError(
            f"snapshot at {snapshot.as_of:%Y-%m-%d} has no labels ({column}): the data must "
            f"cover {snapshot.horizon_days} days after as_of; choose an earlier as_of"
        )
    # cached: the counts, the category lists and the design matrix all read these rows
    rows = snapshot.frame.where(F.col(column).isNotNull()).withColumn(SPLIT, _split(config))
    with persisted(rows) as rows:
        return _fit_rows(snapshot, rows, column, config, num_workers)


def _fit_rows(
    snapshot: SparkSnapshot,
    rows: DataFrame,
    column: str,
    config: ChurnConfig,
    num_workers: int | None,
) -> ChurnModel:
    from pyspark.sql import functions as F

    features = snapshot.feature_columns
    counts = {
        r[SPLIT]: (r["n"], r["pos"])
        for r in rows.groupBy(SPLIT)
        .agg(F.count(F.lit(1)).alias("n"), F.sum(column).alias("pos"))
        .collect()
    }
    n = sum(c[0] for c in counts.values())
    pos = sum(c[1] for c in counts.values())
    check_labels(np.r_[np.ones(int(pos)), np.zeros(int(n - pos))], column)
    enc = fit_encoding_spark(rows, features)
    with persisted(design_frame(rows, enc, column)) as design:
        booster = _train_booster(design, enc, config, num_workers)
        medians = _medians(design, enc)
        raw = _raw_scores(design.where(F.col(SPLIT) == 2), enc, booster)
    calib_x, calib_y = fit_isotonic(raw[RAW].to_numpy(), raw[LABEL].to_numpy())
    table = reason_table(enc, snapshot.families, snapshot.channels, medians)
    info = {
        "as_of": snapshot.as_of.isoformat(),
        "horizon_days": snapshot.horizon_days,
        "families": list(snapshot.families),
        "channels": list(snapshot.channels),
        "n_train": int(counts.get(0, (0, 0))[0]),
        "n_valid": int(counts.get(1, (0, 0))[0]),
        "n_calib": int(counts.get(2, (0, 0))[0]),
        "base_rate": float(pos / n),
        "n_trees": booster.num_boosted_rounds(),
        "engine": "spark",
    }
    return ChurnModel(config, enc, booster, calib_x, calib_y, table, info)


def _train_booster(
    design: DataFrame, enc: Encoding, config: ChurnConfig, num_workers: int | None
) -> xgb.Booster:
    """The booster with the pandas fit's parameters, early-stopped on the validation split."""
    from pyspark.sql import functions as F

    train = design.where(F.col(SPLIT) < 2).withColumn(VALID, F.col(SPLIT) == 1)
    params = spark_params(
        booster_params(config, enc), config.n_estimators, config.early_stopping_rounds, True
    )
    return fit_booster(
        train,
        list(enc.feature_names),
        LABEL,
        params,
        num_workers=num_workers,
        feature_types=list(enc.feature_types),
        nthread=config.nthread,
    )


def _raw_scores(calib: DataFrame, enc: Encoding, booster: xgb.Booster) -> pd.DataFrame:
    """Uncalibrated probabilities and labels of the calibration split (collected)."""
    from pyspark.sql import types as T

    from training.churn.encoding import dmatrix

    raw_model = booster.save_raw("ubj")
    names = list(enc.feature_names)
    schema = T.StructType(
        [T.StructField(RAW, T.DoubleType()), T.StructField(LABEL, T.DoubleType())]
    )

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import xgboost as xgb

        model = xgb.Booster(model_file=bytearray(raw_model))
        model.set_param({"nthread": 1})
        for batch in batches:
            x = batch[names].to_numpy(dtype=np.float32)
            pred = model.predict(dmatrix(enc, x)).astype("float64")
            yield pd.DataFrame({RAW: pred, LABEL: batch[LABEL].to_numpy()})

    return calib.mapInPandas(score, schema).toPandas()
