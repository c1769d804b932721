"""``cintel materialize --engine spark`` and ``cintel targets --engine spark``.

The snapshot and the scoring run on Spark (``training.spark``, ``serving.batch.spark_score``);
the scored profiles are then collected to the driver as an Arrow table (sorted by Spark)
and published as the pandas path publishes them (reference sample, file or Redis store),
because both stores are written from one process. Campaign lists are ranked per Arrow
batch on Spark and only each batch's best ``top`` rows reach the driver.

The Spark engine scores the four required models only: a ``cintel-uplift`` champion is
left out, and the result says so (``left_out``), so campaigns with ``ranking: uplift`` are
ranked by expected value until ``cintel materialize --engine pandas`` publishes its scores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pandas as pd

from serving.batch.materialize import MaterializeResult, load_champions, publish, store_meta
from serving.batch.spark_score import ShippedBundles, champion_bundles, score_spark
from serving.catalogue import Catalogue
from serving.settings import ServiceSettings
from training.tasks import MODELS

ORDER = "_cintel_row"
SCORE_ROWS_PER_PARTITION = 200_000  # ~100 MB of scored Arrow per task

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from serving.batch.targets import Campaign, Risk


def materialize_spark(
    tx_path: str,
    customers_path: str,
    settings: ServiceSettings,
    spark: SparkSession,
    as_of: pd.Timestamp | None = None,
    backend: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    approx_reasons: bool = False,
) -> MaterializeResult:
    """The online store from a Spark snapshot scored on Spark by every champion."""
    from training.spark.session import persisted
    from training.spark.snapshot import build_snapshot_spark

    # the service's cache and smoke test; optional champions only to name them as left out
    _, loaded = load_champions(settings, optional=True)
    versions, left_out = spark_models(loaded)
    for note in left_out:
        progress(note)
    bundles = ShippedBundles.from_folders(champion_bundles(settings.model_cache_dir, versions))
    progress("validating the data and planning the snapshot on Spark")
    snap = build_snapshot_spark(
        tx_path, customers_path, as_of, horizon_days=1, spark=spark, labels=False
    )
    progress("scoring every customer on Spark")
    # cached: counting fills it, and the range partitioning below samples it; without
    # the cache each of those would recompute the snapshot
    with persisted(snap.frame.select("customer_id", *snap.feature_columns)) as features:
        n = features.count()
        # Sorted before scoring, not after: a sort of the scored frame samples its input
        # and so scores every customer twice. Small range partitions keep each task's
        # Arrow result small in the JVM (10 M customers in 4 partitions ran out of a
        # 4 GB heap); mapInPandas keeps the order, so the table arrives sorted.
        parts = max(1, -(-n // SCORE_ROWS_PER_PARTITION))
        ordered = features.repartitionByRange(parts, "customer_id").sortWithinPartitions(
            "customer_id"
        )
        # collected as Arrow: the driver holds ~470 bytes a customer instead of a pandas
        # copy with a Python object per text value (5 M customers: 15 GB peak)
        profiles = score_spark(ordered, bundles, approx_reasons).toArrow()
    meta = store_meta(profiles, snap.as_of, versions, snap.families, approx_reasons, engine="spark")
    progress(f"writing the {backend or settings.store} store")
    location = publish(profiles, meta, settings, backend)
    return MaterializeResult(len(profiles), snap.as_of, versions, location, left_out)


def spark_models(versions: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The champions the Spark engine scores (the required ones) and, for each other one
    (an uplift champion), a sentence saying that it is left out and what that changes."""
    kept = {m: v for m, v in versions.items() if m in MODELS}
    left_out = tuple(
        f"cintel-{m} v{v} left out: the Spark engine does not score the {m} model, so the "
        f"store has no {m}_<arm> columns and campaigns with ranking: {m} are ranked by "
        "expected value; run `cintel materialize --engine pandas` to publish them"
        for m, v in sorted(versions.items())
        if m not in MODELS
    )
    return kept, left_out


def targets_spark(
    profiles_path: str,
    campaign: Campaign,
    top: int,
    catalogue: Catalogue,
    spark: SparkSession,
    channel: str | None = None,
    risk: Risk = "total",
) -> pd.DataFrame:
    """``campaign_targets`` over profiles any size: each Arrow batch keeps its best ``top``
    candidates (a customer's score depends on its own row only), the driver ranks those.
    """
    from pyspark.sql import functions as F

    from serving.batch.targets import COLUMNS, campaign_targets

    # the pandas path breaks ties by store order: keep each row's position in the files
    frame = spark.read.parquet(profiles_path).withColumn(ORDER, F.monotonically_increasing_id())

    def best(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            chosen = campaign_targets(batch, campaign, top, catalogue, channel=channel, risk=risk)
            yield batch[batch["customer_id"].isin(chosen["customer_id"])]

    candidates = frame.mapInPandas(best, frame.schema).toPandas()
    if candidates.empty:
        return pd.DataFrame(columns=COLUMNS)
    candidates = candidates.sort_values(ORDER, ignore_index=True).drop(columns=[ORDER])
    return campaign_targets(candidates, campaign, top, catalogue, channel=channel, risk=risk)
