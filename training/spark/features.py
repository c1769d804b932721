"""Point-in-time customer features on Spark: the columns of ``training.data.features``, natively.

Inputs are clean frames (``training.spark.snapshot.read_clean``): ``ts`` and ``signup_date``
are int64 nanoseconds since the epoch, so every time difference is exact integer arithmetic
as in the pandas engine. Only events strictly before ``as_of`` are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from training.data.features import (
    _EPOCH_WEEKDAY_SHIFT,
    MONEY_EPS,
    NS_PER_DAY,
    TREND_DAYS,
    VALUE_DAYS,
    slug,
    slugs,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def ratio(num: Column, den: Column) -> Column:
    """num / den, null where den is 0 (the pandas engine's NaN; safe under ANSI mode)."""
    from pyspark.sql import functions as F

    return F.when(den != 0, num / den)


def epoch_day(ns: Column) -> Column:
    """Floor of nanoseconds / day in integer arithmetic (right for dates before 1970 too)."""
    from pyspark.sql import functions as F

    return ((ns - F.pmod(ns, F.lit(NS_PER_DAY))) / F.lit(NS_PER_DAY)).cast("long")


def customer_ids(tx: DataFrame, customers: DataFrame, as_of_ns: int) -> DataFrame:
    """Customers known at ``as_of``: signed up before it, or bought before it."""
    from pyspark.sql import functions as F

    signed = customers.where(F.col("signup_date") < as_of_ns).select("customer_id")
    bought = tx.where(F.col("ts") < as_of_ns).select("customer_id")
    return signed.union(bought).distinct()


def _row_aggregates(
    past: DataFrame, as_of_ns: int, families: list[str], channels: list[str]
) -> DataFrame:
    """Per-customer sums over the past transactions, in one groupBy."""
    from pyspark.sql import functions as F

    amount, margin, ts = F.col("amount"), F.col("margin"), F.col("ts")
    bought = amount > 0
    zero = F.lit(0.0)
    last90 = ts >= as_of_ns - TREND_DAYS * NS_PER_DAY
    prev90 = (ts >= as_of_ns - 2 * TREND_DAYS * NS_PER_DAY) & ~last90
    in_year = ts >= as_of_ns - VALUE_DAYS * NS_PER_DAY
    day = epoch_day(ts)
    weekend = F.pmod(day + _EPOCH_WEEKDAY_SHIFT, F.lit(7)) >= 5

    def total(value: Column, mask: Column | None = None) -> Column:
        return F.sum(value if mask is None else F.when(mask, value).otherwise(zero))

    def count(mask: Column) -> Column:
        return F.sum(F.when(mask, 1.0).otherwise(zero))

    aggs = [
        F.count(F.lit(1)).cast("double").alias("n_tx"),
        count(bought).alias("n_buy"),
        count(amount < 0).alias("n_ret"),
        total(amount, bought).alias("gross"),
        total(amount).alias("spend_total"),
        total(margin).alias("margin_total"),
        total(margin, in_year).alias("margin_365d"),
        total(amount, in_year).alias("spend_365d"),
        total(amount, last90).alias("spend_last_90d"),
        total(amount, prev90).alias("spend_prev_90d"),
        count(weekend).alias("n_weekend"),
        F.min(ts).alias("first_ts"),
        F.max(ts).alias("last_ts"),
    ]
    fam, chan = F.col("family"), F.col("channel")
    for name, col in zip(families, slugs(families), strict=True):
        aggs.append(total(amount, bought & (fam == name)).alias(f"_fs__{col}"))
        aggs.append(count(bought & (fam == name)).alias(f"fam_count__{col}"))
    for name, col in zip(channels, slugs(channels), strict=True):
        aggs.append(count(chan == name).alias(f"_cc__{col}"))
    return past.groupBy("customer_id").agg(*aggs)


def _daily_aggregates(past: DataFrame) -> DataFrame:
    """Distinct purchase days per customer: BTYD summary and inter-purchase gap sums."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    days = (
        past.where(F.col("amount") >= 0)  # returns are not purchase occasions; $0 rows are
        .withColumn("day", epoch_day(F.col("ts")))
        .groupBy("customer_id", "day")
        .agg(F.sum("amount").alias("day_spend"))
    )
    gap = F.col("day") - F.lag("day").over(Window.partitionBy("customer_id").orderBy("day"))
    return (
        days.withColumn("gap", gap.cast("double"))
        .groupBy("customer_id")
        .agg(
            F.count(F.lit(1)).cast("double").alias("n_purchase_days"),
            F.min("day").alias("first_day"),
            F.max("day").alias("last_day"),
            F.min_by("day_spend", "day").alias("first_spend"),
            F.sum("day_spend").alias("day_spend_total"),
            F.sum("gap").alias("gap_sum"),
            F.sum(F.col("gap") * F.col("gap")).alias("gap_sq"),
        )
    )


def compute_features_spark(
    tx: DataFrame,
    customers: DataFrame,
    as_of: pd.Timestamp | str,
    families: list[str],
    channels: list[str],
    time_unit_days: float = 1.0,
) -> DataFrame:
    """One row per customer known at ``as_of``; the columns and order of ``compute_features``.

    Pandas NaN is null here (as in the Parquet files the pandas engine writes). Rows come
    in no particular order: sort by ``customer_id`` when collecting.
    """
    from pyspark.sql import functions as F

    as_of_ns = pd.Timestamp(as_of).value
    obs_end_day = (as_of_ns - 1) // NS_PER_DAY
    past = tx.where(F.col("ts") < as_of_ns)
    ids = customer_ids(tx, customers, as_of_ns)
    rows = _row_aggregates(past, as_of_ns, families, channels)
    daily = _daily_aggregates(past)
    attrs = [c for c in customers.columns if c not in ("customer_id", "signup_date")]
    cust = customers.select("customer_id", "signup_date", *attrs)
    df = ids.join(rows, "customer_id", "left").join(daily, "customer_id", "left")
    df = df.join(cust, "customer_id", "left")

    def c(name: str) -> Column:
        return F.col(name)

    def z(name: str) -> Column:  # sums over no rows are 0 in the pandas engine
        return F.coalesce(F.col(name), F.lit(0.0))

    day_ns = F.lit(float(NS_PER_DAY))
    since_first = (F.lit(as_of_ns) - c("first_ts")) / day_ns
    last, prev = z("spend_last_90d"), z("spend_prev_90d")
    den = F.abs(last) + F.abs(prev)
    n_days = z("n_purchase_days")
    has_days = n_days > 0
    frequency = F.when(has_days, n_days - 1).otherwise(0.0)
    n_gaps = F.greatest(n_days - 1, F.lit(0.0))
    ipt_mean = ratio(c("gap_sum"), n_gaps)
    ipt_var = ratio(c("gap_sq"), n_gaps) - ipt_mean * ipt_mean
    ipt_std = F.when(
        n_gaps > 1, F.sqrt(F.greatest(ipt_var * ratio(n_gaps, n_gaps - 1), F.lit(0.0)))
    )
    unit = F.lit(float(time_unit_days))
    out: dict[str, Column] = {
        "recency_days": (F.lit(as_of_ns) - c("last_ts")) / day_ns,
        "frequency": z("n_buy"),
        "n_transactions": z("n_tx"),
        "monetary_mean": ratio(z("gross"), z("n_buy")),
        "spend_total": z("spend_total"),
        "gross_spend": z("gross"),
        "margin_total": z("margin_total"),
        "margin_365d": z("margin_365d"),
        "spend_365d": z("spend_365d"),
        "tenure_days": F.coalesce((F.lit(as_of_ns) - c("signup_date")) / day_ns, since_first),
        "days_since_first": since_first,
        "return_rate": ratio(z("n_ret"), z("n_tx")),
        "spend_last_90d": last,
        "spend_prev_90d": prev,
        "spend_trend": F.when(den > MONEY_EPS, ratio(last - prev, den)).otherwise(0.0),
        "weekend_share": ratio(z("n_weekend"), z("n_tx")),
        "n_purchase_days": n_days,
        "btyd_frequency": frequency,
        "btyd_recency": F.when(has_days, (c("last_day") - c("first_day")) / unit),
        "btyd_T": F.when(has_days, (F.lit(obs_end_day) - c("first_day")) / unit),
        "btyd_monetary": F.when(
            frequency > 0, ratio(c("day_spend_total") - c("first_spend"), frequency)
        ).otherwise(0.0),
        "ipt_mean_days": ipt_mean,
        "ipt_std_days": ipt_std,
    }
    for col in slugs(families):
        out[f"fam_share__{col}"] = ratio(z(f"_fs__{col}"), z("gross"))
        out[f"fam_count__{col}"] = z(f"fam_count__{col}")
    for col in slugs(channels):
        out[f"chan_share__{col}"] = ratio(z(f"_cc__{col}"), z("n_tx"))
    cols = [c("customer_id")] + [v.cast("double").alias(k) for k, v in out.items()]
    cols += [c(a).alias(f"attr_{slug(a)}") for a in attrs]
    return df.select(*cols)
