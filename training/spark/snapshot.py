"""A snapshot on Spark: features at ``as_of`` joined with the labels of the horizon after it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from training.data.contract import ValidationReport
from training.data.labels import PARTIAL_CHURN_FRACTION, HorizonNotCoveredError
from training.data.snapshot import Snapshot
from training.spark.features import compute_features_spark
from training.spark.labels import compute_labels_spark
from training.spark.read import CleanFrames, read_clean
from training.spark.session import get_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

META_FILE = "_cintel.json"
SAMPLE_SEED = 17  # the driver's sample of customers (to_snapshot)


@dataclass(frozen=True)
class SparkSnapshot:
    """A lazy Spark frame with the pandas snapshot's columns and its metadata."""

    frame: DataFrame
    as_of: pd.Timestamp
    horizon_days: int
    labelled: bool
    families: tuple[str, ...]
    channels: tuple[str, ...]
    report: ValidationReport = field(default_factory=ValidationReport)

    @property
    def feature_columns(self) -> list[str]:
        """Model inputs, as ``Snapshot.feature_columns``."""
        return [
            c
            for c in self.frame.columns
            if c != "customer_id" and not c.startswith(("label_", "future_"))
        ]

    def metadata(self) -> dict[str, str]:
        """The footer metadata the pandas engine writes (``Snapshot.metadata``)."""
        return Snapshot(
            pd.DataFrame(),
            self.as_of,
            self.horizon_days,
            self.labelled,
            self.families,
            self.channels,
        ).metadata()

    def to_snapshot(self, share: float = 1.0) -> Snapshot:
        """Collect to the pandas engine's ``Snapshot`` (sorted by id, NaN for null).

        ``share`` < 1 keeps that share of the customers, chosen by a hash of the id (the
        same customers in every snapshot of the same data)."""
        from training.spark.xgb import hash_unit

        rows = self.frame if share >= 1.0 else self.frame.where(hash_unit(SAMPLE_SEED) < share)
        frame = rows.toPandas().sort_values("customer_id", ignore_index=True)
        return Snapshot(
            frame, self.as_of, self.horizon_days, self.labelled, self.families, self.channels
        )

    def write(self, path: str) -> None:
        """Write the frame as Parquet (a folder of part files) at any path Spark can write.

        On a local path the metadata goes beside the parts in ``_cintel.json`` (Spark
        and pandas skip files starting with ``_`` when reading the folder)."""
        self.frame.write.mode("overwrite").parquet(path)
        if "://" not in path or path.startswith("file://"):
            folder = Path(path.removeprefix("file://"))
            (folder / META_FILE).write_text(json.dumps(self.metadata(), indent=1))


def _check_horizon(last_ns: int, as_of: pd.Timestamp, horizon_days: int) -> None:
    needed = (as_of + pd.Timedelta(days=horizon_days) - pd.Timedelta(days=1)).normalize()
    end = pd.Timestamp(last_ns).normalize()
    if end < needed:
        raise HorizonNotCoveredError(
            f"labels need data up to {needed:%Y-%m-%d} (as_of {as_of:%Y-%m-%d} + "
            f"{horizon_days} days) but the transactions end on {end:%Y-%m-%d}; "
            "choose an earlier --as-of or a shorter --horizon-days"
        )


def build_snapshot_spark(
    tx_path: str,
    customers_path: str,
    as_of: pd.Timestamp | str | None = None,
    horizon_days: int = 90,
    *,
    spark: SparkSession | None = None,
    families: list[str] | None = None,
    channels: list[str] | None = None,
    require_labels: bool = False,
    labels: bool = True,
    partial_fraction: float = PARTIAL_CHURN_FRACTION,
    time_unit_days: float = 1.0,
    now: pd.Timestamp | None = None,
    cache: bool = True,
) -> SparkSnapshot:
    """``training.data.snapshot.build_snapshot`` on Spark, from two Parquet paths (local, s3a://).

    Validation runs eagerly (a few passes) and raises the pandas engine's errors; the frame
    is lazy. ``families``/``channels`` default to the sorted categories of the data (the
    pandas engine keeps a Parquet dictionary's order): pass them to fix the layout.
    ``labels=False`` skips the label columns (scoring needs features only).

    ``cache`` keeps the validated, de-duplicated tables in Spark's cache (memory, then
    disk): the snapshot's plan reads them about ten times, and without the cache each
    read re-scans the Parquet files and repeats the de-duplication (measured: 100,000
    customers 36.5 s -> 26.7 s on local[2]). ``unpersist`` frees them.
    """
    spark = spark or get_spark()
    clean = read_clean(spark, tx_path, customers_path, now=now)
    if cache:
        clean = cached(clean)
    return snapshot_from_clean(
        clean,
        as_of,
        horizon_days,
        families=families,
        channels=channels,
        require_labels=require_labels,
        labels=labels,
        partial_fraction=partial_fraction,
        time_unit_days=time_unit_days,
    )


def cached(clean: CleanFrames) -> CleanFrames:
    """The same frames, marked for Spark's cache (filled by the first action)."""
    return replace(
        clean, transactions=clean.transactions.cache(), customers=clean.customers.cache()
    )


def cached_snapshot(snapshot: SparkSnapshot) -> SparkSnapshot:
    """The same snapshot with its frame marked for Spark's cache (several fits read it)."""
    return replace(snapshot, frame=snapshot.frame.cache())


def unpersist(clean: CleanFrames) -> None:
    """Free what ``cached`` kept."""
    clean.transactions.unpersist()
    clean.customers.unpersist()


def default_as_of_spark(clean: CleanFrames) -> pd.Timestamp:
    """The day after the last transaction, as ``training.data.snapshot.default_as_of``."""
    return pd.Timestamp(clean.last_ns).normalize() + pd.Timedelta(days=1)


def snapshot_from_clean(
    clean: CleanFrames,
    as_of: pd.Timestamp | str | None = None,
    horizon_days: int = 90,
    *,
    families: list[str] | None = None,
    channels: list[str] | None = None,
    require_labels: bool = False,
    labels: bool = True,
    partial_fraction: float = PARTIAL_CHURN_FRACTION,
    time_unit_days: float = 1.0,
) -> SparkSnapshot:
    """The snapshot of validated frames (``read_clean``): several snapshots, one validation."""
    families = clean.families if families is None else families
    channels = clean.channels if channels is None else channels
    as_of = default_as_of_spark(clean) if as_of is None else pd.Timestamp(as_of)
    if clean.first_ns >= as_of.value:
        first = pd.Timestamp(clean.first_ns)
        raise ValueError(
            f"as_of {as_of:%Y-%m-%d} is before the first transaction ({first:%Y-%m-%d}); "
            "no features can be computed"
        )
    tx = clean.transactions
    frame = compute_features_spark(
        tx, clean.customers, as_of, families, channels, time_unit_days=time_unit_days
    )
    labelled = labels
    try:
        _check_horizon(clean.last_ns, as_of, horizon_days)
    except HorizonNotCoveredError:
        if require_labels:
            raise
        labelled = False
    if labelled:
        label_frame = compute_labels_spark(
            tx, frame.select("customer_id"), as_of, horizon_days, families, partial_fraction
        )
        frame = frame.join(label_frame, "customer_id", "left")
    return SparkSnapshot(
        frame, as_of, horizon_days, labelled, tuple(families), tuple(channels), clean.report
    )
