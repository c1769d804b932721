"""``cintel snapshot --engine spark`` writes the pandas engine's snapshot as a Parquet folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.entry import cli

from ..conftest import tiny_tables
from .test_spark_engine import assert_same, write_tables

pytestmark = pytest.mark.spark


@pytest.mark.slow
def test_snapshot_engine_spark_matches_pandas(spark_session, tmp_path: Path) -> None:
    tx, customers = tiny_tables()
    write_tables(tx, customers, tmp_path / "data")
    runner = CliRunner()
    common = ["snapshot", "--data", str(tmp_path / "data"), "--as-of", "2024-04-01"]
    want = runner.invoke(cli, [*common, "--out", str(tmp_path / "pandas.parquet")])
    assert want.exit_code == 0, want.output
    got = runner.invoke(
        cli, [*common, "--out", str(tmp_path / "spark.parquet"), "--engine", "spark"]
    )
    assert got.exit_code == 0, got.output
    assert "Snapshot as of 2024-04-01: 3 customers" in got.output
    frame = pd.read_parquet(tmp_path / "spark.parquet").sort_values("customer_id")
    # the pandas engine keeps the file's category order, Spark sorts: compare by name
    expected = pd.read_parquet(tmp_path / "pandas.parquet")
    assert_same(frame[list(expected.columns)].reset_index(drop=True), expected)
    meta = json.loads((tmp_path / "spark.parquet" / "_cintel.json").read_text())
    assert meta["cintel.as_of"] == "2024-04-01T00:00:00" and meta["cintel.labelled"] == "true"


def test_snapshot_engine_spark_wants_parquet(spark_session, tmp_path: Path) -> None:
    tx, customers = tiny_tables()
    (tmp_path / "data").mkdir()
    tx.to_csv(tmp_path / "data" / "transactions.csv", index=False)
    customers.to_parquet(tmp_path / "data" / "customers.parquet")
    args = ["snapshot", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "s")]
    result = CliRunner().invoke(cli, [*args, "--engine", "spark"])
    assert result.exit_code == 1
    assert "needs transactions.parquet (found transactions.csv" in result.output
