"""Load the shipped CDNOW files and convert them to the data contract."""

from __future__ import annotations

import gzip
import io
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from training.data.io import write_table

MASTER_FILE = "CDNOW_master.txt.gz"
SAMPLE_FILE = "CDNOW_sample.txt.gz"
MASTER_COLUMNS = ["customer_id", "date", "n_cds", "dollars"]
SAMPLE_COLUMNS = ["master_id", "customer_id", "date", "n_cds", "dollars"]


def _read_raw(name: str, columns: list[str]) -> pd.DataFrame:
    """Read one whitespace-separated shipped file; the master file has a header line."""
    raw = resources.files("training").joinpath("data", name).read_bytes()
    text = gzip.decompress(raw).decode("ascii")
    first = text.split("\n", 1)[0].split()
    skip = 0 if first and first[0].isdigit() else 1
    return pd.read_csv(
        io.StringIO(text),
        sep=r"\s+",
        header=None,
        names=columns,
        skiprows=skip,
        dtype={"date": str},
    )


def load_cdnow(sample: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CDNOW master file (or the 1/10 sample) as (transactions, customers).

    Every row of the file is kept in its order, including same-day purchases and rows
    identical in every column (``source_line`` tells them apart). ``quantity`` is the
    number of CDs; there is no margin column, so value measures downstream use the amount.
    The sample keeps its own customer ids (1..2,357, as in Fader, Hardie & Lee) and the
    master id as ``master_id``. Sign-up is the first purchase (everyone's first purchase
    is in Q1 1997).
    """
    raw = (
        _read_raw(SAMPLE_FILE, SAMPLE_COLUMNS) if sample else _read_raw(MASTER_FILE, MASTER_COLUMNS)
    )
    zeros = np.zeros(len(raw), dtype=np.int8)
    tx = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].to_numpy(dtype=np.int64),
            "ts": pd.to_datetime(raw["date"], format="%Y%m%d").to_numpy(dtype="datetime64[ns]"),
            "amount": raw["dollars"].to_numpy(dtype=np.float64),
            "family": pd.Categorical.from_codes(zeros, dtype=pd.CategoricalDtype(["music"])),
            "channel": pd.Categorical.from_codes(zeros, dtype=pd.CategoricalDtype(["online"])),
            "quantity": raw["n_cds"].to_numpy(dtype=np.int64),
            # the row's position in the file: CDNOW has no transaction id, and the same CD
            # bought twice on one day would otherwise look like a duplicated row
            "source_line": np.arange(1, len(raw) + 1, dtype=np.int64),
        }
    )
    if sample:
        tx["master_id"] = raw["master_id"].to_numpy(dtype=np.int64)
    first = tx.groupby("customer_id", sort=True)["ts"].min()
    customers = pd.DataFrame(
        {"customer_id": first.index.to_numpy(dtype=np.int64), "signup_date": first.to_numpy()}
    )
    return tx, customers


def write_cdnow(out_dir: Path | str, sample: bool = False) -> tuple[Path, Path]:
    """Write ``transactions.parquet`` and ``customers.parquet`` of CDNOW into ``out_dir``."""
    out = Path(out_dir)
    tx, customers = load_cdnow(sample)
    meta = {"source": SAMPLE_FILE if sample else MASTER_FILE}
    return (
        write_table(tx, out / "transactions.parquet", meta),
        write_table(customers, out / "customers.parquet", meta),
    )
