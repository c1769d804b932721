"""A SparkSession for the snapshot engine: local[2] by default, Spark Connect via SPARK_REMOTE."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[2]"
LOCAL_SHUFFLE_PARTITIONS = 4
# settings the engine relies on: nanosecond Parquet timestamps arrive as int64 nanoseconds
# (exact, like pandas), naive timestamps are read as UTC, and ANSI arithmetic stays on
ENGINE_CONF = {
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.session.timeZone": "UTC",
}
CONNECT_TRAINING = (
    "training on Spark needs a classic Spark master, not Spark Connect (SPARK_REMOTE={remote}): "
    "xgboost.spark fits through Spark's RDD API, which a Connect session does not offer; "
    "pass --spark-master (spark://host:7077, yarn or local[N]). "
    "snapshot, materialize and targets do run over Spark Connect"
)


def local_conf() -> dict[str, str]:
    """Settings for a session whose driver and executors share this machine (``local[N]``):
    few shuffle partitions, no UI, the driver memory of ``CINTEL_SPARK_DRIVER_MEMORY``."""
    return {
        "spark.sql.shuffle.partitions": str(LOCAL_SHUFFLE_PARTITIONS),
        "spark.ui.enabled": "false",
        "spark.driver.memory": os.environ.get("CINTEL_SPARK_DRIVER_MEMORY", "4g"),
        # driver and executor are one JVM here: collecting a scored store to the
        # driver is the plan, not an accident to guard against
        "spark.driver.maxResultSize": "0",
    }


def get_spark(master: str | None = None, app_name: str = "cintel") -> SparkSession:
    """The active session or a new one; ``master`` wins over ``SPARK_REMOTE``, then local[2].

    With ``SPARK_REMOTE`` (``sc://host:15002``) and no ``master`` the session is a Spark
    Connect client. Local mode gets few shuffle partitions and no UI; logs at WARN level.
    """
    from pyspark.sql import SparkSession

    remote = os.environ.get("SPARK_REMOTE")
    builder = SparkSession.builder.appName(app_name)
    if master is None and remote:
        builder = builder.remote(remote)
    else:
        # pyspark's builder turns to Connect wherever SPARK_REMOTE is set, xgboost.spark's
        # getOrCreate() too: a master chosen here means this process has no Connect session
        os.environ.pop("SPARK_REMOTE", None)
        master = master or DEFAULT_MASTER
        builder = builder.master(master).config("spark.ui.showConsoleProgress", "false")
        if master.startswith("local"):
            # local workers run this interpreter (its venv has cintel), not `python3` on PATH
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            for key, value in local_conf().items():
                builder = builder.config(key, value)
    for key, value in ENGINE_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in ENGINE_CONF.items():  # an existing session may predate our settings
        spark.conf.set(key, value)
    if not is_connect(spark):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect client (no SparkContext, no RDDs on this side)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def require_classic(spark: SparkSession) -> None:
    """Raise ``ValueError`` (one clear message) when training is asked of a Connect session."""
    if is_connect(spark):
        remote = os.environ.get("SPARK_REMOTE") or "sc://…"
        raise ValueError(CONNECT_TRAINING.format(remote=remote))


@contextmanager
def persisted(frame: DataFrame) -> Iterator[DataFrame]:
    """``frame`` marked for Spark's cache inside the block (its first action fills it),
    freed when the block ends, however it ends."""
    kept = frame.cache()
    try:
        yield kept
    finally:
        kept.unpersist()
