"""The data contract: every kind of bad input gets a clear, located message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from training.data.contract import DataValidationError, validate
from training.data.io import DataFolderError, load_data

from .conftest import tiny_tables

NOW = pd.Timestamp("2025-01-01")


def _error(tx: pd.DataFrame, cu: pd.DataFrame, **kw: str) -> str:
    with pytest.raises(DataValidationError) as info:
        validate(tx, cu, now=NOW, **kw)
    return str(info.value)


def test_clean_tables_pass_with_types() -> None:
    tx, cu = tiny_tables()
    clean = validate(tx, cu, now=NOW)
    assert clean.report.errors == []
    assert str(clean.transactions["ts"].dtype) == "datetime64[ns]"
    assert clean.families == ["bakery", "fresh"]
    assert clean.channels == ["online", "store"]
    assert "region" in clean.customers.columns  # attributes are kept


def test_missing_column_is_named() -> None:
    tx, cu = tiny_tables()
    msg = _error(tx.drop(columns=["amount"]), cu, tx_name="tx.csv")
    assert "tx.csv, column 'amount': required column is missing" in msg


def test_empty_table_is_an_error() -> None:
    tx, cu = tiny_tables()
    msg = _error(tx.iloc[0:0], cu, tx_name="transactions.parquet")
    assert "transactions.parquet: the table is empty" in msg


def test_unparsable_dates_name_lines_and_values() -> None:
    tx, cu = tiny_tables()
    tx.loc[3, "ts"] = "31/31/2024"
    msg = _error(tx, cu, tx_name="transactions.csv")
    assert "column 'ts': 1 value(s) are not dates" in msg
    assert "line 5: '31/31/2024'" in msg  # header is line 1, row 3 is line 5


def test_non_numeric_amounts_are_counted() -> None:
    tx, cu = tiny_tables()
    tx["amount"] = tx["amount"].astype(object)
    tx.loc[1, "amount"] = "abc"
    tx.loc[2, "amount"] = "inf"
    msg = _error(tx, cu, tx_name="transactions.parquet")
    assert "column 'amount': 2 value(s) are not finite numbers" in msg
    assert "row 1: 'abc'" in msg


def test_duplicate_rows_are_dropped_with_a_warning() -> None:
    tx, cu = tiny_tables()
    clean = validate(pd.concat([tx, tx.iloc[[0, 0]]], ignore_index=True), cu, now=NOW)
    assert len(clean.transactions) == len(tx)
    (warn,) = [w for w in clean.report.warnings if "duplicate" in w.message]
    assert warn.count == 2


def test_future_timestamps_are_dropped_with_a_warning() -> None:
    tx, cu = tiny_tables()
    clean = validate(tx, cu, now=pd.Timestamp("2024-06-01"))
    (warn,) = [w for w in clean.report.warnings if w.column == "ts"]
    assert warn.count == 1 and "2024-07-01" in "".join(warn.examples)
    assert clean.transactions["ts"].max() < pd.Timestamp("2024-06-01")


def test_unknown_customers_are_added_and_reported() -> None:
    tx, cu = tiny_tables()
    clean = validate(tx, cu[cu["customer_id"] != "E"], now=NOW)
    (warn,) = [w for w in clean.report.warnings if w.column == "customer_id"]
    assert warn.count == 1 and "'E'" in warn.examples
    e = clean.customers.set_index("customer_id").loc["E"]
    assert e["signup_date"] == pd.Timestamp("2024-07-01 10:00")


def test_mostly_unknown_customers_suggest_a_wrong_key() -> None:
    tx, cu = tiny_tables()
    cu = cu.assign(customer_id=cu["customer_id"].str.lower())
    msg = _error(tx, cu)
    assert "check that both files use the same customer id" in msg


def test_duplicate_customer_ids_are_an_error() -> None:
    tx, cu = tiny_tables()
    msg = _error(tx, pd.concat([cu, cu.iloc[[0]]], ignore_index=True), cust_name="c.csv")
    assert "c.csv, column 'customer_id': customer ids must be unique" in msg


def test_empty_ids_and_families_are_errors() -> None:
    tx, cu = tiny_tables()
    tx.loc[0, "customer_id"] = None
    tx.loc[1, "family"] = None
    msg = _error(tx, cu)
    assert "1 row(s) have no customer id" in msg
    assert "column 'family': 1 value(s) are empty" in msg


def test_missing_margin_falls_back_to_amount_with_a_warning() -> None:
    tx, cu = tiny_tables()
    clean = validate(tx.drop(columns=["margin", "channel"]), cu, now=NOW)
    assert (clean.transactions["margin"] == clean.transactions["amount"]).all()
    assert clean.channels == ["unknown"]
    assert any(w.column == "margin" for w in clean.report.warnings)


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    tx, cu = tiny_tables()
    tx_copy, cu_copy = tx.copy(), cu.copy()
    validate(pd.concat([tx, tx.iloc[[0]]]), cu, now=NOW)
    pd.testing.assert_frame_equal(tx, tx_copy)
    pd.testing.assert_frame_equal(cu, cu_copy)
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    cu.to_csv(tmp_path / "customers.csv", index=False)
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    clean = load_data(tmp_path, now=NOW)
    assert len(clean.transactions) == len(tx)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert after == digest


def test_integer_and_string_ids_are_reconciled() -> None:
    tx, cu = tiny_tables()
    mapping = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
    tx = tx.assign(customer_id=tx["customer_id"].map(mapping))
    cu = cu.assign(customer_id=cu["customer_id"].map(mapping).astype(str))
    clean = validate(tx, cu, now=NOW)
    assert clean.report.errors == []
    assert set(clean.transactions["customer_id"]) == {"1", "2", "4", "5"}


def test_missing_folder_and_table_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataFolderError, match="no such folder"):
        load_data(tmp_path / "nope")
    with pytest.raises(DataFolderError, match=r"no transactions\.parquet or transactions\.csv"):
        load_data(tmp_path)


def test_empty_csv_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "transactions.csv").write_text("")
    tiny_tables()[1].to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(DataValidationError, match=r"transactions\.csv: the table is empty"):
        load_data(tmp_path, now=NOW)


def test_duplicate_rows_match_the_whole_row_check() -> None:
    """The cheap candidate key finds the same rows as hashing and comparing every column:
    rows equal except in one column, -0.0 against 0.0, text and integer ids."""
    import numpy as np

    from training.data.contract import _duplicated_rows

    rng = np.random.default_rng(3)
    n = 5000
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 40, n),
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 4, n), unit="D"),
            "amount": rng.choice([0.0, -0.0, 1.5, 2.0], n),
            "family": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "margin": rng.choice([1.0, 2.0], n),
        }
    )
    for table in (frame, frame.assign(customer_id=frame["customer_id"].astype(str))):
        hashes = pd.util.hash_pandas_object(table, index=False)
        candidates = hashes.duplicated(keep=False).to_numpy()
        expected = np.zeros(n, dtype=bool)
        expected[candidates] = table.loc[candidates].duplicated(keep="first").to_numpy()
        assert 0 < expected.sum() < n
        assert np.array_equal(_duplicated_rows(table), expected)
    assert not _duplicated_rows(frame.drop_duplicates()).any()
