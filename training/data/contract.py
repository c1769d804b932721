"""The data contract: validate raw transactions and customers into clean tables.

Validation is pure: it takes the raw frames (and the file names to quote in messages)
and returns clean copies plus a report. Errors stop the pipeline; warnings describe what
was dropped or repaired, with counts and example rows, so nothing changes silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from training.data.checks import (
    MAX_EXAMPLES,
    DataValidationError,
    Issue,
    ValidationReport,
    check_columns,
    examples,
    flag_rows,
    parse_category,
    parse_dates,
    parse_ids,
    parse_number,
    row_labels,
)

__all__ = [
    "CUST_REQUIRED",
    "MAX_EXAMPLES",
    "TX_OPTIONAL",
    "TX_REQUIRED",
    "UNKNOWN_CUSTOMER_ERROR_SHARE",
    "CleanData",
    "DataValidationError",
    "Issue",
    "ValidationReport",
    "validate",
]

TX_REQUIRED = ("customer_id", "ts", "amount", "family")
TX_OPTIONAL = ("channel", "margin", "quantity")
CUST_REQUIRED = ("customer_id", "signup_date")
# above this share of transactions from customers absent from the customers file we
# suspect a wrong join key rather than a few late sign-ups, and stop
UNKNOWN_CUSTOMER_ERROR_SHARE = 0.5


@dataclass(frozen=True)
class CleanData:
    """Validated tables: typed transactions; customers unique by id, covering every buyer."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    report: ValidationReport

    @property
    def families(self) -> list[str]:
        return list(self.transactions["family"].cat.categories)

    @property
    def channels(self) -> list[str]:
        return list(self.transactions["channel"].cat.categories)


def _align_id_types(tx: pd.Series, cust: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Both id columns integer when both files have integers, otherwise both strings."""
    if pd.api.types.is_integer_dtype(tx) and pd.api.types.is_integer_dtype(cust):
        return tx, cust
    return tx.astype(str), cust.astype(str)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (a bijection of uint64), in place."""
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def _bits(column: pd.Series) -> np.ndarray:
    """uint64 per value, equal for equal values (0.0 and -0.0 alike, every NaN alike)."""
    values = column.to_numpy()
    if values.dtype.kind == "f":
        values = np.where(np.isnan(values), np.nan, values.astype(np.float64) + 0.0)
        return values.view(np.uint64)
    if values.dtype.kind in "iuM" and values.dtype.itemsize == 8:
        return values.view(np.uint64).copy()
    return pd.util.hash_array(values.astype(object))


def _repeated(hashes: np.ndarray) -> np.ndarray:
    """Which entries of a uint64 array occur more than once (one sort, no hash table)."""
    ordered = np.sort(hashes)
    twice = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(twice):
        return np.zeros(len(hashes), dtype=bool)
    pos = np.minimum(np.searchsorted(twice, hashes), len(twice) - 1)
    return cast(np.ndarray, twice[pos] == hashes)


def _duplicated_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows identical to an earlier row in every column.

    Candidates are the rows whose (customer_id, ts) key repeats (a cheap mix of the raw
    values, found by sorting); among them, the rows whose whole-row hash repeats get the
    exact column-by-column check, so a hash collision can never drop a row. The same rows
    as hashing every row of every column, several times faster.
    """
    out = np.zeros(len(frame), dtype=bool)
    key = _mix(_bits(frame["customer_id"]))
    key ^= _bits(frame["ts"])
    first = _repeated(_mix(key))
    if not first.any():
        return out
    rows = np.flatnonzero(first)
    part = frame.iloc[rows]
    candidates = _repeated(pd.util.hash_pandas_object(part, index=False).to_numpy())
    if candidates.any():
        dup = part.iloc[np.flatnonzero(candidates)].duplicated(keep="first")
        out[rows[candidates]] = dup.to_numpy()
    return out


def validate(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    tx_name: str = "transactions",
    cust_name: str = "customers",
    now: pd.Timestamp | None = None,
) -> CleanData:
    """Check both tables against the contract and return clean copies.

    Raises ``DataValidationError`` naming file, column, count and example rows for
    missing columns, empty tables, unparsable dates, non-numeric money, empty ids or
    families, duplicate customer ids and a wrong join key. Warns (and repairs) on
    duplicate transaction rows (dropped), future timestamps (dropped), transactions of
    customers absent from the customers file (added with their first purchase as sign-up)
    and missing sign-up dates (first purchase used). The inputs are never modified.
    """
    report = ValidationReport()
    tx_csv = tx_name.lower().endswith(".csv")
    cu_csv = cust_name.lower().endswith(".csv")
    ok_tx = check_columns(transactions, TX_REQUIRED, tx_name, report)
    ok_cu = check_columns(customers, CUST_REQUIRED, cust_name, report)
    if not (ok_tx and ok_cu):
        report.raise_if_errors()

    tx_id = parse_ids(transactions["customer_id"], tx_name, tx_csv, report)
    cu_id = parse_ids(customers["customer_id"], cust_name, cu_csv, report)
    tx_id, cu_id = _align_id_types(tx_id, cu_id)
    tx = pd.DataFrame(
        {
            "customer_id": tx_id.to_numpy(),
            "ts": parse_dates(transactions["ts"], tx_name, "ts", tx_csv, report, False).to_numpy(),
            "amount": parse_number(
                transactions["amount"], tx_name, "amount", tx_csv, report, True
            ).to_numpy(),
            "family": parse_category(transactions["family"], tx_name, "family", tx_csv, report),
        }
    )
    if "channel" in transactions.columns:
        tx["channel"] = parse_category(transactions["channel"], tx_name, "channel", tx_csv, report)
    else:
        tx["channel"] = pd.Categorical.from_codes(
            np.zeros(len(tx), dtype=np.int8), categories=pd.Index(["unknown"])
        )
    if "margin" in transactions.columns:
        tx["margin"] = parse_number(
            transactions["margin"], tx_name, "margin", tx_csv, report, True
        ).to_numpy()
    else:
        tx["margin"] = tx["amount"]
        report.add(
            Issue(
                "warning",
                tx_name,
                "margin",
                len(tx),
                "no margin column; value measures use the amount as margin",
            )
        )
    if "quantity" in transactions.columns:
        tx["quantity"] = parse_number(
            transactions["quantity"], tx_name, "quantity", tx_csv, report, True
        ).to_numpy()
    else:
        tx["quantity"] = 1.0
    extra = [c for c in transactions.columns if c not in TX_REQUIRED + TX_OPTIONAL]
    for col in extra:
        tx[col] = transactions[col].to_numpy()

    cust = customers.copy()
    cust["customer_id"] = cu_id.to_numpy()
    cust["signup_date"] = parse_dates(
        customers["signup_date"], cust_name, "signup_date", cu_csv, report, True
    ).to_numpy()
    report.raise_if_errors()

    dup_ids = cust["customer_id"].duplicated(keep=False).to_numpy()
    if dup_ids.any():
        report.add(
            Issue(
                "error",
                cust_name,
                "customer_id",
                int(cust["customer_id"].duplicated().sum()),
                "customer ids must be unique; the same id appears on several rows",
                examples(customers["customer_id"], dup_ids, cu_csv),
            )
        )
    known = tx["customer_id"].isin(cust["customer_id"]).to_numpy()
    if (~known).mean() > UNKNOWN_CUSTOMER_ERROR_SHARE:
        report.add(
            Issue(
                "error",
                tx_name,
                "customer_id",
                int((~known).sum()),
                f"{(~known).mean():.0%} of transactions belong to customers absent from "
                f"{cust_name}; check that both files use the same customer id",
                examples(transactions["customer_id"], ~known, tx_csv),
            )
        )
    report.raise_if_errors()

    dup_rows = _duplicated_rows(tx)
    if dup_rows.any():
        report.add(
            Issue(
                "warning",
                tx_name,
                "",
                int(dup_rows.sum()),
                f"{int(dup_rows.sum())} duplicate row(s) dropped (identical in every column)",
                tuple(row_labels(pd.RangeIndex(len(tx))[dup_rows], tx_csv)),
            )
        )
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    future = (tx["ts"] > now).to_numpy()
    flag_rows(
        report,
        tx_name,
        "ts",
        transactions["ts"],
        future,
        tx_csv,
        f"transaction(s) dated after {now:%Y-%m-%d %H:%M} dropped",
        level="warning",
    )
    if dup_rows.any() or future.any():
        tx = tx.loc[~(dup_rows | future)]

    kept = ~(dup_rows | future)
    unknown = ~(known if kept.all() else known[kept])  # known: before the drop
    if unknown.any():
        first = tx.loc[unknown].groupby("customer_id", sort=False)["ts"].min()
        report.add(
            Issue(
                "warning",
                tx_name,
                "customer_id",
                int(unknown.sum()),
                f"{int(unknown.sum())} transaction(s) of {len(first)} customer(s) absent from "
                f"{cust_name}; they were added with their first purchase as sign-up date",
                tuple(repr(x) for x in first.index[:MAX_EXAMPLES]),
            )
        )
        added = pd.DataFrame(
            {"customer_id": first.index.to_numpy(), "signup_date": first.to_numpy()}
        )
        cust = pd.concat([cust, added], ignore_index=True)

    no_signup = cust["signup_date"].isna().to_numpy()
    if no_signup.any():
        first_all = tx.groupby("customer_id", sort=False)["ts"].min()
        filled = cust["customer_id"].map(first_all)
        report.add(
            Issue(
                "warning",
                cust_name,
                "signup_date",
                int(no_signup.sum()),
                f"{int(no_signup.sum())} customer(s) without sign-up date; first purchase used",
                tuple(repr(x) for x in cust.loc[no_signup, "customer_id"].iloc[:MAX_EXAMPLES]),
            )
        )
        cust["signup_date"] = cust["signup_date"].fillna(filled)

    return CleanData(transactions=_numbered(tx), customers=_numbered(cust), report=report)


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the index 0..n-1 (reset only when rows were dropped: a reset
    copies every column, seconds for tens of millions of transactions)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)
