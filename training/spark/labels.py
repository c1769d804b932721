"""Labels on Spark from the window [as_of, as_of + horizon), as ``training.data.labels``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from training.data.features import NS_PER_DAY, slugs
from training.data.labels import PARTIAL_CHURN_FRACTION

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def compute_labels_spark(
    tx: DataFrame,
    ids: DataFrame,
    as_of: pd.Timestamp | str,
    horizon_days: int,
    families: list[str],
    partial_fraction: float = PARTIAL_CHURN_FRACTION,
) -> DataFrame:
    """Labels for the customers in ``ids`` (a frame with ``customer_id``), one groupBy.

    Same definitions as ``training.data.labels.compute_labels``; NaN there is null here.
    """
    from pyspark.sql import functions as F

    if not 0 < partial_fraction < 1:
        raise ValueError(f"partial_fraction must be in (0, 1), got {partial_fraction}")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    start = pd.Timestamp(as_of).value
    stop = start + horizon_days * NS_PER_DAY
    prev_start = start - horizon_days * NS_PER_DAY
    ts, amount, fam = F.col("ts"), F.col("amount"), F.col("family")
    bought = amount > 0
    future = (ts >= start) & (ts < stop)
    past = ts < start
    prev = (ts >= prev_start) & past
    zero = F.lit(0.0)

    def total(value: Column, mask: Column) -> Column:
        return F.sum(F.when(mask, value).otherwise(zero))

    def count(mask: Column) -> Column:
        return total(F.lit(1.0), mask)

    fam_cols = slugs(families)
    aggs = [
        count(future & bought).alias("fut_buys"),
        count(past & bought).alias("past_buys"),
        total(amount, future & bought).alias("fut_gross"),
        total(amount, prev & bought).alias("prev_gross"),
        total(amount, future).alias("future_spend"),
        total(F.col("margin"), future).alias("future_margin"),
    ]
    for name, col in zip(families, fam_cols, strict=True):
        aggs.append(count(future & bought & (fam == name)).alias(f"_ff__{col}"))
        aggs.append(count(past & bought & (fam == name)).alias(f"_pf__{col}"))
    sums = tx.where(ts < stop).groupBy("customer_id").agg(*aggs)
    df = ids.select("customer_id").join(sums, "customer_id", "left")

    def z(name: str) -> Column:
        return F.coalesce(F.col(name), zero)

    out: dict[str, Column] = {
        "label_churn": F.when(z("past_buys") > 0, (z("fut_buys") == 0).cast("double")),
        "label_partial_churn": F.when(
            z("prev_gross") > 0,
            (
                (z("fut_buys") > 0) & (z("fut_gross") < F.lit(partial_fraction) * z("prev_gross"))
            ).cast("double"),
        ),
        "future_spend": z("future_spend"),
        "future_margin": z("future_margin"),
        "future_purchases": z("fut_buys"),
    }
    for col in fam_cols:
        buy = (z(f"_ff__{col}") > 0).cast("double")
        out[f"label_buy__{col}"] = buy
        out[f"label_first__{col}"] = F.when(z(f"_pf__{col}") == 0, buy)
    return df.select("customer_id", *[v.cast("double").alias(k) for k, v in out.items()])
