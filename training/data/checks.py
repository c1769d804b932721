"""Per-column checks of the data contract and the report they fill.

Each parser turns one raw column into a typed one and records what it could not parse as
an ``Issue`` naming the file, the column, the count and a few example rows (for CSV the
line a person sees in an editor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Issue:
    """One finding: ``level`` is ``error`` or ``warning``."""

    level: str
    file: str
    column: str
    count: int
    message: str
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file}, column '{self.column}'" if self.column else self.file
        text = f"{where}: {self.message}"
        if self.examples:
            text += f" (e.g. {'; '.join(self.examples)})"
        return text


@dataclass
class ValidationReport:
    """Everything validation found, in order."""

    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise DataValidationError(self)


class DataValidationError(ValueError):
    """Raised when the input tables break the data contract."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = [str(i) for i in report.errors]
        super().__init__(f"{len(lines)} problem(s) in the input data:\n  - " + "\n  - ".join(lines))


def row_labels(index: pd.Index, csv: bool) -> list[str]:
    # CSV: the line number a person sees in an editor (header is line 1)
    return [f"line {i + 2}" if csv else f"row {i}" for i in index[:MAX_EXAMPLES]]


def examples(raw: pd.Series, mask: np.ndarray, csv: bool) -> tuple[str, ...]:
    bad = raw[mask]
    labels = row_labels(pd.RangeIndex(len(raw))[mask], csv)
    return tuple(f"{lab}: {v!r}" for lab, v in zip(labels, bad.iloc[:MAX_EXAMPLES], strict=False))


# what flag_rows says after the count; the Spark engine reports the same words
NOT_DATES = "value(s) are not dates; use ISO 8601 like 2024-03-31"
EMPTY_DATES = "value(s) are empty; every row needs a date"
NOT_FINITE = "value(s) are not finite numbers"
EMPTY_NUMBERS = "value(s) are empty; every row needs a number"
EMPTY_VALUES = "value(s) are empty"
NO_CUSTOMER_ID = "row(s) have no customer id"


def flag_rows(
    report: ValidationReport,
    name: str,
    col: str,
    raw: pd.Series,
    mask: np.ndarray,
    csv: bool,
    message: str,
    level: str = "error",
) -> None:
    """Report the rows in ``mask``, if any, as "<count> <message>" with examples."""
    n = int(mask.sum())
    if n:
        report.add(Issue(level, name, col, n, f"{n} {message}", examples(raw, mask, csv)))


def check_columns(
    df: pd.DataFrame, required: Sequence[str], name: str, report: ValidationReport
) -> bool:
    if len(df) == 0:
        report.add(Issue("error", name, "", 0, "the table is empty; at least one row is needed"))
        return False
    missing = [c for c in required if c not in df.columns]
    for col in missing:
        report.add(
            Issue(
                "error",
                name,
                col,
                len(df),
                f"required column is missing (columns found: {', '.join(map(str, df.columns))})",
            )
        )
    return not missing


def parse_dates(
    raw: pd.Series, name: str, col: str, csv: bool, report: ValidationReport, allow_missing: bool
) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
    else:
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed = parsed.astype("datetime64[ns]")
    missing = raw.isna().to_numpy()
    unparsable = parsed.isna().to_numpy() & ~missing
    flag_rows(
        report,
        name,
        col,
        raw,
        unparsable,
        csv,
        NOT_DATES,
    )
    if not allow_missing:
        flag_rows(report, name, col, raw, missing, csv, EMPTY_DATES)
    return parsed


def parse_number(
    raw: pd.Series, name: str, col: str, csv: bool, report: ValidationReport, required: bool
) -> pd.Series:
    parsed = pd.to_numeric(raw, errors="coerce").astype("float64")
    missing = raw.isna().to_numpy()
    bad = parsed.isna().to_numpy() & ~missing
    bad |= ~np.isfinite(parsed.to_numpy()) & ~parsed.isna().to_numpy()
    flag_rows(report, name, col, raw, bad, csv, NOT_FINITE)
    if required:
        flag_rows(report, name, col, raw, missing, csv, EMPTY_NUMBERS)
    return parsed


def parse_ids(raw: pd.Series, name: str, csv: bool, report: ValidationReport) -> pd.Series:
    missing = raw.isna().to_numpy()
    flag_rows(report, name, "customer_id", raw, missing, csv, NO_CUSTOMER_ID)
    if pd.api.types.is_integer_dtype(raw):
        return raw.astype("int64")
    return raw.astype("string").astype(object)


def parse_category(
    raw: pd.Series, name: str, col: str, csv: bool, report: ValidationReport
) -> pd.Series:
    missing = raw.isna().to_numpy()
    flag_rows(report, name, col, raw, missing, csv, EMPTY_VALUES)
    values = raw if isinstance(raw.dtype, pd.CategoricalDtype) else raw.astype("string")
    cat = values.astype("category")
    if not isinstance(raw.dtype, pd.CategoricalDtype):
        cat = cat.cat.rename_categories([str(c) for c in cat.cat.categories])
    codes = cat.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(cat.cat.categories)) > 0
    if used.all():  # np.unique-based remove_unused_categories is slow on large columns
        return cat
    return cat.cat.remove_categories(list(cat.cat.categories[~used]))
