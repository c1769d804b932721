"""The CDNOW loader: every shipped row kept, contract types, what validation does with it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.data.cdnow import load_cdnow, write_cdnow
from training.data.contract import validate


def test_master_file_shape_and_types() -> None:
    tx, customers = load_cdnow()
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == len(customers) == 23_570
    assert tx["customer_id"].dtype == "int64"
    assert tx["ts"].dtype == "datetime64[ns]"
    assert tx["amount"].dtype == "float64"
    assert list(tx["family"].cat.categories) == ["music"]
    assert list(tx["channel"].cat.categories) == ["online"]
    assert "margin" not in tx.columns
    assert tx["ts"].min() == pd.Timestamp("1997-01-01")
    assert tx["ts"].max() == pd.Timestamp("1998-06-30")
    first = tx.groupby("customer_id")["ts"].min()
    assert (customers.set_index("customer_id")["signup_date"] == first).all()


def test_sample_keeps_same_day_rows_and_master_id(
    cdnow_sample: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tx, customers = cdnow_sample
    assert len(tx) == 6_919 and len(customers) == 2_357
    assert tx["customer_id"].min() == 1 and tx["customer_id"].max() == 2_357
    assert tx.iloc[0][["customer_id", "master_id", "quantity", "amount"]].tolist() == [
        1,
        4,
        2,
        29.33,
    ]
    assert tx.duplicated(["customer_id", "ts"]).sum() == 223
    # 21 rows repeat another row but for their position in the file (the same CD bought
    # twice a day); source_line keeps them distinct so validation drops none of them
    assert tx.drop(columns=["source_line"]).duplicated().sum() == 21
    assert tx.duplicated().sum() == 0


def test_validation_accepts_cdnow_and_keeps_every_row(
    cdnow_sample: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tx, customers = cdnow_sample
    clean = validate(tx, customers, now=pd.Timestamp("2000-01-01"))
    assert len(clean.transactions) == 6_919
    assert "master_id" in clean.transactions.columns
    messages = [str(w) for w in clean.report.warnings]
    assert not any("duplicate" in m for m in messages)
    assert any("no margin column" in m for m in messages)


def test_write_cdnow_round_trips(tmp_path: Path) -> None:
    tx_path, cu_path = write_cdnow(tmp_path / "cdnow", sample=True)
    tx, customers = load_cdnow(sample=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tx_path), tx)
    pd.testing.assert_frame_equal(pd.read_parquet(cu_path), customers)
