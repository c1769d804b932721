"""A SparkSession for the snapshot engine: local[2] by default, Spark Connect via SPARK_REMOTE."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
LOCAL_SHUFFLE_PARTITIONS = 4
# settings the engine relies on: nanosecond Parquet timestamps arrive as int64 nanoseconds
# (exact, like pandas), naive timestamps are read as UTC, and ANSI arithmetic stays on
ENGINE_CONF = {
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.session.timeZone": "UTC",
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
        master = master or DEFAULT_MASTER
        builder = builder.master(master).config("spark.ui.showConsoleProgress", "false")
        if master.startswith("local"):
            # local workers run this interpreter (its venv has cintel), not `python3` on PATH
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = (
                builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
                .config("spark.ui.enabled", "false")
                .config("spark.driver.memory", os.environ.get("CINTEL_SPARK_DRIVER_MEMORY", "4g"))
                # driver and executor are one JVM here: collecting a scored store to the
                # driver is the plan, not an accident to guard against
                .config("spark.driver.maxResultSize", "0")
            )
    for key, value in ENGINE_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in ENGINE_CONF.items():  # an existing session may predate our settings
        spark.conf.set(key, value)
    if not (master is None and remote):
        spark.sparkContext.setLogLevel("ERROR")
    return spark
