"""Read and write the data folder: Parquet or CSV in, Parquet out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.data.contract import CleanData, validate

TABLES = ("transactions", "customers")


class DataFolderError(FileNotFoundError):
    """The data folder lacks a table the command needs."""


def find_table(data_dir: Path, name: str) -> Path:
    """The Parquet file for ``name`` in ``data_dir``, or its CSV if there is no Parquet."""
    for suffix in (".parquet", ".csv", ".csv.gz"):
        path = data_dir / f"{name}{suffix}"
        if path.exists():
            return path
    raise DataFolderError(
        f"{data_dir}: no {name}.parquet or {name}.csv; "
        "create one with `cintel synth --out DIR` or `cintel cdnow --out DIR`"
    )


def read_table(path: Path) -> pd.DataFrame:
    """Read one table as it is in the file, without changing types beyond the reader's."""
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def load_data(data_dir: Path | str, now: pd.Timestamp | None = None) -> CleanData:
    """Read and validate the transactions and customers of a data folder."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataFolderError(f"{data_dir}: no such folder")
    tx_path = find_table(data_dir, "transactions")
    cu_path = find_table(data_dir, "customers")
    return validate(
        read_table(tx_path),
        read_table(cu_path),
        tx_name=tx_path.name,
        cust_name=cu_path.name,
        now=now,
    )


def write_table(df: pd.DataFrame, path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a frame as Parquet, with optional key/value metadata in the file footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    pq.write_table(table, path)
    return path


def read_metadata(path: Path) -> dict[str, str]:
    """The key/value metadata written by ``write_table`` (pandas' own entry left out)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in meta.items() if k != b"pandas"}


# transactions.parquet footer key: the data is complete up to this time (exclusive); written
# by `cintel simulate-responses`, whose last response window may end after its last purchase
DATA_END_KEY = "cintel.data_end"


def stated_data_end(data_dir: Path | str) -> pd.Timestamp | None:
    """How far a data folder says it is complete (``DATA_END_KEY`` in the footer of its
    transactions.parquet), or None (no such file or statement, or not a local folder)."""
    if "://" in str(data_dir):
        return None
    path = Path(data_dir) / "transactions.parquet"
    if not path.exists():
        return None
    value = read_metadata(path).get(DATA_END_KEY)
    return pd.Timestamp(value) if value else None
