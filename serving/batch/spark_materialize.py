"""``cintel materialize --engine spark`` and ``cintel targets --engine spark``.

The snapshot and the scoring run on Spark (``training.spark``, ``serving.batch.spark_score``);
the scored profiles are then collected to the driver as an Arrow table (sorted by Spark)
and published as the pandas path publishes them (reference sample, file or Redis store),
because both stores are written from one process. Campaign lists are ranked per Arrow
batch on Spark and only each batch's best ``top`` rows reach the driver.

The Spark engine publishes what the pandas engine does, with the same values: the four
required models, the potential and partial-churn champions, the P&L, lifecycle stages,
cells and micro-segments (``serving.batch.spark_economics``; none of issue 15's columns
with CINTEL_ECONOMICS=off). Only a ``cintel-uplift`` champion is left out, and the result
says so (``left_out``), so campaigns with ``ranking: uplift`` are ranked by expected value
until ``cintel materialize --engine pandas`` publishes its scores. Unlike the pandas
engine it does not fold acknowledged ``POST /events`` into the data, nor write the
transaction history or feature file the service's event and score-on-read paths use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from serving.batch.materialize import (
    ECONOMICS_MODELS,
    MaterializeResult,
    load_champions,
    priced_contacts,
    publish,
    store_meta,
    usable_optional,
)
from serving.batch.materialize_cells import micro_segment_notes
from serving.batch.spark_economics import economics_spark, with_economics_arrow
from serving.batch.spark_score import ShippedBundles, champion_bundles, score_spark
from serving.catalogue import Catalogue, load_catalogue
from serving.settings import ServiceSettings
from training.economics import Costs
from training.economics.cells_config import CellsConfig
from training.economics.costs import costs_to_json
from training.segments.config import SegmentsConfig
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
    costs: Costs | None = None,
    cells: CellsConfig | None = None,
) -> MaterializeResult:
    """The online store from a Spark snapshot scored on Spark by every champion.

    With ``settings.economics`` "on" (CINTEL_ECONOMICS) the store gets what ``materialize``
    adds, with the same values: the potential and partial-churn champions' scores, the
    P&L priced by ``costs`` and the lifecycle stage (``spark_economics``), the cells of
    ``cells`` and the micro-segments; "off" gives the four required models' scores only."""
    from training.spark.read import read_clean
    from training.spark.session import persisted
    from training.spark.snapshot import cached, snapshot_from_clean, unpersist

    economics = settings.economics == "on"
    costs = costs or Costs()
    scorers, loaded = load_champions(settings, optional=True)
    versions, left_out = spark_models(loaded, economics)
    notes = list(left_out)
    for note in notes:
        progress(note)

    def leave_out(note: str) -> None:
        notes.append(note)
        progress(note)

    progress("validating the data and planning the snapshot on Spark")
    clean = cached(read_clean(spark, tx_path, customers_path))
    try:
        snap = snapshot_from_clean(clean, as_of, horizon_days=1, labels=False)
        progress("scoring every customer on Spark")
        # cached: counting fills it, and the range partitioning below samples it; without
        # the cache each of those would recompute the snapshot
        with persisted(snap.frame.select("customer_id", *snap.feature_columns)) as features:
            n = features.count()
            sample = features.limit(16).toPandas()
            _, versions = usable_optional(
                sample, {m: scorers[m] for m in versions}, versions, leave_out
            )
            bundles = ShippedBundles.from_folders(
                champion_bundles(settings.model_cache_dir, versions)
            )
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
            cells_meta = None
            if economics:
                progress("computing the customer economics and lifecycle stages on Spark")
                contacts = priced_contacts(costs, settings)
                econ = economics_spark(clean, features, n, snap.as_of, costs, contacts)
                progress("placing customers in cells and micro-segments")
                profiles, cells_meta = with_economics_arrow(
                    profiles,
                    econ.toArrow(),
                    settings.tier_value,
                    tier_shares(scorers.get("segments")),
                    cells or CellsConfig(),
                )
                catalogue = load_catalogue(settings.offers_path)
                for note in micro_segment_notes(catalogue, cells_meta["micro_sizes"]):
                    leave_out(note)
    finally:
        unpersist(clean)
    meta = store_meta(profiles, snap.as_of, versions, snap.families, approx_reasons, engine="spark")
    meta["economics"] = settings.economics
    if cells_meta is not None:
        meta["cells"] = cells_meta
    meta["costs"] = costs_to_json(costs)
    meta["tier_value"] = settings.tier_value
    progress(f"writing the {backend or settings.store} store")
    location = publish(profiles, meta, settings, backend)
    return MaterializeResult(len(profiles), snap.as_of, versions, location, tuple(notes))


def tier_shares(segments: object) -> tuple[float, float, float]:
    """The value tiers' shares of the segments champion (its config), else the defaults."""
    config = getattr(segments, "config", None)
    return (
        config.tier_shares if isinstance(config, SegmentsConfig) else SegmentsConfig().tier_shares
    )


def spark_models(
    versions: dict[str, str], economics: bool = True
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The champions the Spark engine scores (the required ones, and with ``economics``
    the potential and partial-churn ones) and, for each other one (an uplift champion), a
    sentence saying that it is left out and what that changes."""
    scored = (*MODELS, *ECONOMICS_MODELS) if economics else MODELS
    kept = {m: v for m, v in versions.items() if m in scored}
    left_out = tuple(
        f"cintel-{m} v{v} left out: the Spark engine does not score the {m} model, so the "
        f"store has no {m}_<arm> columns and campaigns with ranking: {m} are ranked by "
        "expected value; run `cintel materialize --engine pandas` to publish them"
        for m, v in sorted(versions.items())
        if m not in (*MODELS, *ECONOMICS_MODELS)
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
    strategies: Sequence[str] | None = None,
    min_value: float = 0.0,
) -> pd.DataFrame:
    """``campaign_targets`` over profiles any size: each Arrow batch keeps its best ``top``
    candidates (a customer's score depends on its own row only, for every campaign kind
    and the ``strategies`` filter), the driver ranks those. A store that lacks what the
    campaign needs raises ``campaign_targets``' ValueError before any Spark job.
    """
    from pyspark.sql import functions as F

    from serving.batch.targets import campaign_targets

    def ranked(profiles: pd.DataFrame) -> pd.DataFrame:
        return campaign_targets(
            profiles,
            campaign,
            top,
            catalogue,
            channel=channel,
            risk=risk,
            strategies=strategies,
            min_value=min_value,
        )

    # the pandas path breaks ties by store order: keep each row's position in the files
    frame = spark.read.parquet(profiles_path).withColumn(ORDER, F.monotonically_increasing_id())
    ranked(frame.limit(1).toPandas().drop(columns=[ORDER]))  # missing columns: the message

    def best(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            chosen = ranked(batch)
            yield batch[batch["customer_id"].isin(chosen["customer_id"])]

    candidates = frame.mapInPandas(best, frame.schema).toPandas()
    candidates = candidates.sort_values(ORDER, ignore_index=True).drop(columns=[ORDER])
    return ranked(candidates)
