"""The Spark engine over Spark Connect: a real server (``scripts/spark_connect.py``, local[2])
and a client session from ``get_spark()`` with SPARK_REMOTE set, as the CLI makes it.

Snapshots agree with the pandas engine as the local session's do (``test_spark_engine``);
bad input raises the local session's ``DataValidationError`` message; training, whose
``xgboost.spark`` needs a SparkContext, stops at once with one clear error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.entry import cli
from training.data.contract import DataValidationError, validate
from training.data.snapshot import build_snapshot

from ..conftest import AS_OF, tiny_tables
from .test_spark_engine import NOW, assert_same, write_tables

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # a Spark Connect server: make test-slow


def test_get_spark_makes_a_connect_client_with_the_engine_settings(spark_connect) -> None:
    from pyspark.sql import types as T

    from training.spark.session import ENGINE_CONF, is_connect

    assert is_connect(spark_connect)
    for key, value in ENGINE_CONF.items():
        assert spark_connect.conf.get(key) == value

    def interpreter(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import sys

        for _ in batches:
            yield pd.DataFrame({"python": [sys.executable]})

    schema = T.StructType([T.StructField("python", T.StringType())])
    rows = spark_connect.range(1).mapInPandas(interpreter, schema).collect()
    # the server's Python workers run this venv's interpreter, which has cintel installed
    assert [r["python"] for r in rows] == [sys.executable]


@pytest.mark.slow
def test_simulated_snapshot_over_connect_agrees_with_pandas(spark_connect, tmp_path: Path):
    """Computed and written by the server; the Parquet folder holds the pandas snapshot."""
    from training.data.simulator.simulate import SynthConfig, synthesize
    from training.spark.snapshot import META_FILE, build_snapshot_spark

    data = synthesize(SynthConfig(n_customers=400, seed=3))
    tx_path, cu_path = write_tables(data.transactions, data.customers, tmp_path / "data")
    clean = validate(data.transactions, data.customers, now=NOW)
    as_of = clean.transactions["ts"].quantile(0.7).normalize()
    want = build_snapshot(clean, as_of, 90)
    got = build_snapshot_spark(
        tx_path,
        cu_path,
        as_of,
        90,
        spark=spark_connect,
        now=NOW,
        families=clean.families,
        channels=clean.channels,
    )
    assert want.labelled and got.labelled and len(want.frame) > 200
    got.write(str(tmp_path / "snapshot"))
    frame = pd.read_parquet(tmp_path / "snapshot").sort_values("customer_id", ignore_index=True)
    assert_same(frame, want.frame)
    meta = json.loads((tmp_path / "snapshot" / META_FILE).read_text())
    assert meta == want.metadata()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda df: df.drop(columns=["amount"]),
            "1 problem(s) in the input data:\n  - transactions.parquet, column 'amount': "
            "required column is missing (columns found: customer_id, ts, margin, family, "
            "channel)",
        ),
        (
            lambda df: df.assign(ts=df["ts"].where(df.index != 2, "not a date")),
            "1 problem(s) in the input data:\n  - transactions.parquet, column 'ts': 1 value(s) "
            "are not dates; use ISO 8601 like 2024-03-31 (e.g. 'not a date')",
        ),
    ],
    ids=["missing-column", "not-a-date"],
)
def test_bad_input_over_connect_raises_the_local_message(
    spark_connect, tmp_path: Path, change, message
) -> None:
    from training.spark.snapshot import build_snapshot_spark

    tx, customers = tiny_tables()
    tx_path, cu_path = write_tables(change(tx), customers, tmp_path)
    with pytest.raises(DataValidationError) as err:
        build_snapshot_spark(tx_path, cu_path, AS_OF, 90, spark=spark_connect, now=NOW)
    assert str(err.value) == message


def test_train_over_connect_stops_before_any_work(spark_connect, tmp_path: Path) -> None:
    """Data that would fail validation: the Connect error comes first, so nothing ran."""
    tx, customers = tiny_tables()
    write_tables(tx.drop(columns=["amount"]), customers, tmp_path / "data")
    args = ["train", "--data", str(tmp_path / "data"), "--engine", "spark"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "error: training on Spark needs a classic Spark master, not Spark Connect" in text
    assert "pass --spark-master (spark://host:7077, yarn or local[N])" in text
    assert "snapshot, materialize and targets do run over Spark Connect" in text
    assert "amount" not in text


def test_xgboost_fit_over_connect_raises_the_same_error(spark_connect) -> None:
    from pyspark.sql import functions as F

    from training.spark.xgb import VALID, fit_booster

    frame = spark_connect.range(10).select(
        F.col("id").cast("double").alias("x"),
        (F.col("id") % 2).cast("double").alias("y"),
        (F.col("id") < 3).alias(VALID),
    )
    with pytest.raises(ValueError, match="needs a classic Spark master, not Spark Connect"):
        fit_booster(frame, ["x"], "y", {"n_estimators": 2})


def test_a_master_wins_over_spark_remote(spark_session, monkeypatch) -> None:
    """``--spark-master`` with SPARK_REMOTE still set gives the local session, not Connect,
    also to a plain ``getOrCreate()`` later (as xgboost.spark calls it); pyspark's builder
    alone refuses a master with SPARK_REMOTE set."""
    from pyspark.sql import SparkSession

    from training.spark.session import get_spark, is_connect

    monkeypatch.setenv("SPARK_REMOTE", "sc://localhost:1")  # nothing listens there
    spark = get_spark("local[2]")
    assert spark is spark_session and not is_connect(spark)
    assert SparkSession.builder.getOrCreate() is spark
    assert spark.range(4).count() == 4
