"""cintel-clv fitted on Spark: BG/NBD × Gamma-Gamma on the driver, the boosters distributed.

The same model as ``training.clv.fit.fit`` (checks, BTYD fit, derived features, Tweedie
boosters with the BTYD offset, the learned-or-BTYD choice on the validation Gini), with:

- the BTYD fit on the driver from the buyers' six BTYD columns (the MLE needs every
  history; 48 bytes a customer);
- the BTYD outputs, derived features and design matrix computed per Arrow batch (the
  Monte Carlo interval is keyed by each history, so batches do not change it);
- the positive and negative boosters from ``SparkXGBRegressor``;
- the population fallbacks (medians of the time profile and interval width) from a
  seeded sample of at most ``FALLBACK_ROWS`` customers, and the validation Gini from
  three numbers per validation customer collected to the driver.

The validation rows are a hash of ``customer_id``, not the pandas fit's random draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from training.churn.encoding import Encoding, design_matrix, dmatrix
from training.clv.btyd_part import (
    BTYD_COLUMNS,
    DERIVED_FEATURES,
    BtydParams,
    btyd_frame,
    derived_features,
    fit_btyd,
    log_offset,
)
from training.clv.fit import (
    ClvConfig,
    assemble,
    booster_params,
    check_rows,
    fallback_values,
    offset_bounds,
    target_column,
)
from training.clv.metrics import normalized_gini
from training.clv.model import ClvModel
from training.clv.outputs import CLV_MONTHS
from training.spark.churn import fit_encoding_spark
from training.spark.session import persisted
from training.spark.xgb import VALID, fit_booster, hash_unit, spark_params

if TYPE_CHECKING:
    import xgboost as xgb
    from pyspark.sql import Column, DataFrame

    from training.spark.snapshot import SparkSnapshot

FALLBACK_ROWS = 1_000_000
Y, OFFSET = "_cintel_y", "_cintel_offset"
# BTYD outputs kept beside the design matrix for the fallbacks and the validation Gini
KEPT = (
    "btyd_clv_horizon",
    "btyd_clv_12m",
    "btyd_clv_12m_p10",
    "btyd_clv_12m_p90",
    *(f"shape_{k}m" for k in CLV_MONTHS),
)


def _prepare(
    rows: DataFrame,
    enc: Encoding,
    params: BtydParams,
    snapshot: SparkSnapshot,
    config: ClvConfig,
    column: str,
    bounds: dict[str, float],
) -> DataFrame:
    """Per Arrow batch: BTYD outputs, the design matrix, target, offset and kept columns."""
    from pyspark.sql import types as T

    names = list(enc.feature_names)
    schema = T.StructType(
        [rows.schema["customer_id"]]
        + [T.StructField(n, T.FloatType()) for n in names]
        + [T.StructField(c, T.DoubleType()) for c in (Y, OFFSET, *KEPT)]
        + [T.StructField(VALID, T.BooleanType())]
    )
    horizon = snapshot.horizon_days

    def prepare(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            btyd = btyd_frame(
                params, batch, horizon, config.monthly_discount, config.n_draws, config.seed
            )
            x = design_matrix(enc, batch.assign(**derived_features(btyd)))
            out = pd.DataFrame(x, columns=names)
            out.insert(0, "customer_id", batch["customer_id"].to_numpy())
            out[Y] = batch[column].to_numpy(dtype="float64")
            value = btyd["btyd_clv_horizon"].to_numpy()
            out[OFFSET] = log_offset(value, bounds["offset_floor"], bounds["offset_default"])
            for c in KEPT:
                out[c] = btyd[c].to_numpy(dtype="float64")
            out[VALID] = batch[VALID].to_numpy(dtype=bool)
            yield out

    return rows.mapInPandas(prepare, schema)


def _validation_scores(
    design: DataFrame,
    enc: Encoding,
    positive: xgb.Booster,
    negative: xgb.Booster | None,
    use_offset: bool,
) -> pd.DataFrame:
    """Target, learned horizon value and BTYD horizon value of the validation rows."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    names = list(enc.feature_names)
    pos_raw = positive.save_raw("ubj")
    neg_raw = None if negative is None else negative.save_raw("ubj")
    schema = T.StructType(
        [T.StructField(c, T.DoubleType()) for c in (Y, "learned_pos", "learned_neg", KEPT[0])]
    )

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import xgboost as xgb

        pos = xgb.Booster(model_file=bytearray(pos_raw))
        neg = None if neg_raw is None else xgb.Booster(model_file=bytearray(neg_raw))
        for batch in batches:
            x = batch[names].to_numpy(dtype=np.float32)
            with_offset = dmatrix(enc, x)
            if use_offset:
                with_offset.set_base_margin(batch[OFFSET].to_numpy())
            out = pd.DataFrame({Y: batch[Y].to_numpy(), KEPT[0]: batch[KEPT[0]].to_numpy()})
            out["learned_pos"] = pos.predict(with_offset).astype("float64")
            out["learned_neg"] = np.nan if neg is None else neg.predict(dmatrix(enc, x))
            yield out

    return design.where(F.col(VALID)).mapInPandas(score, schema).toPandas()


def fit_clv_spark(
    snapshot: SparkSnapshot, config: ClvConfig | None = None, num_workers: int | None = None
) -> ClvModel:
    """Fit cintel-clv on a labelled Spark snapshot (see the module docstring)."""
    from pyspark.sql import functions as F

    config = ClvConfig() if config is None else config
    # the Spark fit does not compute the value-per-day features (training/clv/rates.py):
    # its model says so, and scores without them
    config = replace(config, rate_features=False)
    frame = snapshot.frame
    column = target_column(snapshot.labelled, list(frame.columns), config.target)
    t = F.col("btyd_T")
    rows = frame.where(t.isNotNull() & ~F.isnan(t) & (t > 0) & F.col(column).isNotNull())
    rows = rows.withColumn(VALID, hash_unit(config.seed) < config.valid_fraction)
    with persisted(rows) as rows:
        return _fit_rows(snapshot, rows, column, config, num_workers)


def _fit_rows(
    snapshot: SparkSnapshot,
    rows: DataFrame,
    column: str,
    config: ClvConfig,
    num_workers: int | None,
) -> ClvModel:
    from pyspark.sql import functions as F

    y, train = F.col(column), ~F.col(VALID)
    repeat = (F.col("btyd_frequency") > 0) & (F.col("btyd_monetary") > 0)
    stats = rows.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(repeat.cast("int")).alias("repeat"),
        F.max(y).alias("max_y"),
        F.avg(F.greatest(y, F.lit(0.0))).alias("mean_pos"),
        F.sum((y < 0).cast("int")).alias("n_negative"),
        F.sum((train & (y < 0)).cast("int")).alias("n_neg_train"),
        F.sum(train.cast("int")).alias("n_train"),
        F.avg(F.when(train, F.greatest(-y, F.lit(0.0)))).alias("loss_train"),
    ).first()
    assert stats is not None  # an aggregate has one row
    check_rows(int(stats["n"]), int(stats["repeat"] or 0), (stats["max_y"] or 0) > 0, column)
    btyd_cols = [*BTYD_COLUMNS, "gross_spend", "margin_total"]
    # in id order, as the pandas engine holds them: the optimiser then takes the same path
    buyers = rows.select("customer_id", *btyd_cols).orderBy("customer_id").toPandas()
    params = fit_btyd(buyers, config.target, config.alive_model)

    base = fit_encoding_spark(rows, list(snapshot.feature_columns))
    enc = Encoding(
        base.feature_names + DERIVED_FEATURES,
        base.feature_types + ("q",) * len(DERIVED_FEATURES),
        base.categories,
    )
    bounds = offset_bounds(float(stats["mean_pos"]))
    with persisted(_prepare(rows, enc, params, snapshot, config, column, bounds)) as design:
        n = int(stats["n"])
        sample = design.where(hash_unit(config.seed + 1) < FALLBACK_ROWS / n)
        fallback = fallback_values(sample.select(*KEPT).toPandas()) | bounds
        features, types = list(enc.feature_names), list(enc.feature_types)

        def part(label: Column, depth: int, rounds: int, use_offset: bool) -> xgb.Booster:
            return fit_booster(
                design.withColumn("_cintel_label", label),
                features,
                "_cintel_label",
                spark_params(
                    booster_params(config, depth), rounds, config.early_stopping_rounds, False
                ),
                regression=True,
                num_workers=num_workers,
                feature_types=types,
                base_margin=OFFSET if use_offset else None,
                nthread=config.nthread,
            )

        target = F.col(Y)
        positive = part(
            F.greatest(target, F.lit(0.0)), config.max_depth, config.n_estimators,
            config.btyd_offset,
        )  # fmt: skip
        negative = None
        if int(stats["n_neg_train"] or 0) >= config.min_negatives:
            negative = part(
                F.greatest(-target, F.lit(0.0)), min(3, config.max_depth),
                config.negative_estimators, False,
            )  # fmt: skip
        constant = float(stats["loss_train"] or 0.0)
        valid = _validation_scores(design, enc, positive, negative, config.btyd_offset)
    learned = valid["learned_pos"].to_numpy() - (
        valid["learned_neg"].to_numpy() if negative is not None else constant
    )
    y_va = valid[Y].to_numpy()
    parts = assemble(
        snapshot, config, params, enc, positive, negative, constant, fallback,
        n_train=int(stats["n_train"]), n_valid=len(valid),
        n_negative=int(stats["n_negative"] or 0),
        gini_learned=normalized_gini(y_va, learned),
        gini_btyd=normalized_gini(y_va, valid[KEPT[0]].to_numpy()),
    )  # fmt: skip
    parts["info"]["engine"] = "spark"  # type: ignore[index]
    return ClvModel(config=config, **parts)  # type: ignore[arg-type]
