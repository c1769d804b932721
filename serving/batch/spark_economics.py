"""The customer economics of ``cintel materialize --engine spark`` (issue 15), as pandas has them.

Every P&L and lifecycle figure is a function of one customer's own transactions, customer
row and the costs, so the pandas functions (``training.economics.economics_columns``) run
on Spark unchanged: customers and their transactions go to the same bucket (a hash of the
id), and a cogrouped ``applyInPandas`` prices each bucket, tens of thousands of customers
a call, never one Python call per customer. The preferred channel comes out beside them.

What depends on every customer at once is cut on the driver from the collected Arrow
columns with the pandas code: the value tiers re-cut on net contribution
(CINTEL_TIER_VALUE) and the cells' potential cuts and micro-segment merging
(``serving.batch.materialize_cells.publish_cells``), so both engines cut the same quantiles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from serving.batch.materialize import net_contribution_tiers
from serving.batch.materialize_cells import publish_cells
from training.data.contract import CleanData, ValidationReport
from training.economics import PNL_COLUMNS, Costs, economics_columns
from training.economics.cells import CHANNEL_PREFIX, preferred_channel
from training.economics.cells_config import CellsConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from training.spark.read import CleanFrames

CUSTOMERS_PER_BUCKET = 50_000  # one pandas call prices this many customers
CHANNEL = "_cintel_channel"  # the preferred channel, for the cells; not published
TEXT_COLUMNS = ("lifecycle_stage", "lifecycle_since", "lifecycle_as_of", "costs_file")


def economics_spark(
    clean: CleanFrames,
    features: DataFrame,
    n_customers: int,
    as_of: pd.Timestamp,
    costs: Costs,
    contacts: pd.DataFrame | None = None,
) -> DataFrame:
    """A lazy frame: ``customer_id``, the economics columns of ``economics_columns`` and
    the preferred channel (``CHANNEL``) of every customer of ``features``."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    buckets = max(2, -(-n_customers // CUSTOMERS_PER_BUCKET))
    channels = [c for c in features.columns if c.startswith(CHANNEL_PREFIX)]
    # the scored customers with their table row (sign-up, attributes) and channel shares
    who = features.select("customer_id", *channels).join(clean.customers, "customer_id", "left")
    bucket = F.pmod(F.xxhash64("customer_id"), F.lit(buckets)).alias("_cintel_bucket")
    tx = clean.transactions.select("customer_id", "ts", "amount", "margin", "channel")
    schema = T.StructType().add("customer_id", features.schema["customer_id"].dataType)
    for name in PNL_COLUMNS:
        schema = schema.add(name, T.DoubleType())
    for name in (*TEXT_COLUMNS, CHANNEL):
        schema = schema.add(name, T.StringType())
    names = schema.fieldNames()

    def price(bought: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
        if people.empty:
            return pd.DataFrame({name: [] for name in names})
        return bucket_economics(bought, people, as_of, costs, contacts)[names]

    return (
        tx.select(bucket, *tx.columns)
        .groupBy("_cintel_bucket")
        .cogroup(who.select(bucket, *who.columns).groupBy("_cintel_bucket"))
        .applyInPandas(price, schema)
    )


def bucket_economics(
    tx: pd.DataFrame,
    people: pd.DataFrame,
    as_of: pd.Timestamp,
    costs: Costs,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``economics_columns`` for the customers of ``people`` (one row each: id, sign-up in
    ns, attributes, channel shares) from ``tx`` (all their transactions, ``ts`` in ns),
    with ``customer_id`` first and the preferred channel last."""
    ids = pd.Index(people["customer_id"].to_numpy())
    customers = people.assign(signup_date=pd.to_datetime(people["signup_date"], unit="ns"))
    transactions = tx.assign(ts=pd.to_datetime(tx["ts"], unit="ns"))
    data = CleanData(transactions, customers, ValidationReport())
    out = economics_columns(data, ids, as_of, costs, contacts)
    out.insert(0, "customer_id", ids.to_numpy())
    out[CHANNEL] = preferred_channel(people)
    return out


def with_economics_arrow(
    profiles: pa.Table,
    economics: pa.Table,
    tier_value: str,
    shares: tuple[float, float, float],
    config: CellsConfig,
) -> tuple[pa.Table, dict[str, Any]]:
    """``profiles`` (Spark's scored store, in its order) plus the economics columns (rows
    of ``economics`` matched by id) and the cell columns, and the cells meta, as
    ``materialize`` adds them: value tiers re-cut on net contribution when ``tier_value``
    says so, then the cells cut over every customer."""
    ids = profiles.column("customer_id").to_pandas()
    rows = pd.Index(economics.column("customer_id").to_pandas()).get_indexer(ids)
    if (rows < 0).any() or len(economics) != len(profiles):
        raise RuntimeError(
            f"the economics cover {len(economics):,} customers, the scores {len(profiles):,}"
        )
    economics = economics.take(pa.array(rows))
    if tier_value == "net_contribution" and "value_tier" in profiles.column_names:
        net = economics.column("net_contribution_12m").to_numpy()
        tiers = net_contribution_tiers(np.asarray(net, dtype="float64"), shares)
        at = profiles.column_names.index("value_tier")
        profiles = profiles.set_column(at, "value_tier", pa.array(tiers, pa.string()))
    out = profiles
    for name in [*PNL_COLUMNS, *TEXT_COLUMNS]:
        out = out.append_column(name, economics.column(name))
    needed = ["value_tier", "segment_id", "potential_headroom", "share_of_wallet"]
    frame = pd.DataFrame(
        {c: out.column(c).to_pandas() for c in needed if c in out.column_names}
        | {"lifecycle_stage": economics.column("lifecycle_stage").to_pandas()}
    )
    channel = economics.column(CHANNEL).to_numpy(zero_copy_only=False)
    columns, meta = publish_cells(frame, np.asarray(channel, dtype=object), config)
    for name in columns.columns:
        out = out.append_column(name, pa.array(columns[name].to_numpy(), pa.string()))
    return out, meta
