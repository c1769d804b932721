"""The Spark engine agrees with the pandas engine, column by column, on tiny and simulated data.

Agreement: identical columns in the same order; identical NaN (null) positions; exact
equality for counts and integer-valued columns; other floats within 1e-9 relative (with a
1e-9 absolute floor for sums that cancel to about 0, since Spark adds in another order).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark", reason="the Spark engine needs the optional pyspark extra")
if shutil.which("java") is None:
    pytest.skip("the Spark engine needs a Java runtime (java not on PATH)", allow_module_level=True)

from tests.agreement import assert_frames_agree  # noqa: E402
from training.data.contract import DataValidationError, validate  # noqa: E402
from training.data.snapshot import build_snapshot  # noqa: E402
from training.spark.snapshot import build_snapshot_spark  # noqa: E402

from ..conftest import AS_OF, tiny_tables  # noqa: E402

NOW = pd.Timestamp("2030-01-01")  # after the simulated years: nothing is "future"
RTOL = 1e-9
ATOL = 1e-9
EXACT = (
    "customer_id",
    "frequency",
    "n_transactions",
    "n_purchase_days",
    "btyd_frequency",
    "btyd_recency",
    "btyd_T",
    "future_purchases",
)


@pytest.fixture
def spark(spark_session):
    return spark_session


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns in order, NaN positions and values (exact for counts, 1e-9 relative
    otherwise)."""
    assert list(got.columns) == list(want.columns)
    assert_frames_agree(
        got,
        want,
        RTOL,
        ATOL,
        exact=lambda col: col in EXACT or col.startswith(("fam_count__", "label_")),
    )


def write_tables(tx: pd.DataFrame, customers: pd.DataFrame, folder: Path) -> tuple[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    tx.to_parquet(folder / "transactions.parquet", index=False)
    customers.to_parquet(folder / "customers.parquet", index=False)
    return str(folder / "transactions.parquet"), str(folder / "customers.parquet")


def test_tiny_tables_agree(spark, tmp_path: Path) -> None:
    tx, customers = tiny_tables()
    tx_path, cu_path = write_tables(tx, customers, tmp_path)
    want = build_snapshot(validate(tx, customers, now=NOW), AS_OF, 90)
    got = build_snapshot_spark(tx_path, cu_path, AS_OF, 90, spark=spark, now=NOW)
    assert got.labelled and want.labelled
    assert (got.families, got.channels) == (want.families, want.channels)
    assert_same(got.to_snapshot().frame, want.frame)


@pytest.mark.slow
def test_tiny_default_as_of_is_unlabelled_like_pandas(spark, tmp_path: Path) -> None:
    tx, customers = tiny_tables()
    tx_path, cu_path = write_tables(tx, customers, tmp_path)
    want = build_snapshot(validate(tx, customers, now=NOW))
    got = build_snapshot_spark(tx_path, cu_path, spark=spark, now=NOW)
    assert got.as_of == want.as_of and not got.labelled and not want.labelled
    assert_same(got.to_snapshot().frame, want.frame)


@pytest.mark.slow
def test_simulated_data_agrees(spark, tmp_path: Path) -> None:
    from training.data.simulator.simulate import SynthConfig, synthesize

    data = synthesize(SynthConfig(n_customers=3000))
    tx_path, cu_path = write_tables(data.transactions, data.customers, tmp_path)
    clean = validate(data.transactions, data.customers, now=NOW)
    as_of = clean.transactions["ts"].quantile(0.7).normalize()
    want = build_snapshot(clean, as_of, 90)
    got = build_snapshot_spark(
        tx_path,
        cu_path,
        as_of,
        90,
        spark=spark,
        now=NOW,
        families=clean.families,
        channels=clean.channels,
    )
    assert want.labelled and got.labelled
    assert len(want.frame) > 1000
    assert_same(got.to_snapshot().frame, want.frame)


@pytest.mark.parametrize(
    ("table", "change", "needle"),
    [
        (
            "tx",
            lambda df: df.drop(columns=["amount"]),
            "transactions.parquet, column 'amount': required column is missing",
        ),
        (
            "tx",
            lambda df: df.assign(ts=df["ts"].where(df.index != 2, "not a date")),
            "transactions.parquet, column 'ts': 1 value(s) are not dates",
        ),
        (
            "tx",
            lambda df: df.assign(amount=df["amount"].astype(str).where(df.index != 1, "ten")),
            "transactions.parquet, column 'amount': 1 value(s) are not finite numbers",
        ),
        ("cu", lambda df: df.iloc[:0], "customers.parquet: the table is empty"),
        (
            "cu",
            lambda df: df.assign(signup_date="31/02/2024 oops"),
            "customers.parquet, column 'signup_date': 5 value(s) are not dates",
        ),
    ],
)
def test_validation_errors_name_file_and_column(spark, tmp_path: Path, table, change, needle):
    tx, customers = tiny_tables()
    if table == "tx":
        tx = change(tx)
    else:
        customers = change(customers)
    tx_path, cu_path = write_tables(tx, customers, tmp_path)
    with pytest.raises(DataValidationError) as err:
        build_snapshot_spark(tx_path, cu_path, AS_OF, 90, spark=spark, now=NOW)
    assert needle in str(err.value)
