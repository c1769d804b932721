"""Prospects tables checked with the data contract's checks: the model's attributes, no more.

A prospects table is a customers table without history: an id (``prospect_id`` or
``customer_id``), every attribute the prospect model learned from, by the customers
table's own column names, and optionally ``signup_date`` (ignored). An empty table, a
missing id or attribute column, an unknown column (never silently dropped), empty or
duplicate ids, a non-number in a numeric attribute and a value never seen in a text
attribute (a typo would otherwise be scored as "unknown") are errors naming the file, the
column and example rows. An empty attribute value is allowed: it is scored as unknown,
and reported as a warning.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from training.data.checks import (
    NO_CUSTOMER_ID,
    DataValidationError,
    Issue,
    ValidationReport,
    examples,
    flag_rows,
    parse_number,
)
from training.prospect.model import ProspectModel

ID_COLUMNS = ("prospect_id", "customer_id")
IGNORED = ("signup_date",)
_ROW = re.compile(r"^(?:row|line) (\d+)")


def _error(report: ValidationReport, name: str, column: str, message: str, n: int = 0) -> None:
    report.add(Issue("error", name, column, n, message))


def _structure(frame: pd.DataFrame, model: ProspectModel, name: str) -> str | None:
    """Check the columns; return the id column (None after recording the errors)."""
    report = ValidationReport()
    if len(frame) == 0:
        _error(report, name, "", "the table is empty; at least one prospect row is needed")
        report.raise_if_errors()
    attributes = list(model.attributes)
    found = ", ".join(map(str, frame.columns))
    ids = [c for c in ID_COLUMNS if c in frame.columns]
    if not ids:
        _error(
            report,
            name,
            ID_COLUMNS[0],
            f"required column is missing: name each prospect in a {ID_COLUMNS[0]} (or "
            f"{ID_COLUMNS[1]}) column (columns found: {found})",
            len(frame),
        )
    for col in [a for a in attributes if a not in frame.columns]:
        _error(
            report,
            name,
            col,
            "required column is missing: the prospect model scores these attributes of the "
            f"customers table: {', '.join(attributes)} (columns found: {found})",
            len(frame),
        )
    allowed = {*attributes, *ID_COLUMNS, *IGNORED}
    for col in [str(c) for c in frame.columns if c not in allowed]:
        _error(
            report,
            name,
            col,
            "unknown column: the prospect model takes only the attributes "
            f"{', '.join(attributes)} (plus {' or '.join(ID_COLUMNS)} and {IGNORED[0]}); "
            "drop it, or retrain with it in the customers table",
            len(frame),
        )
    report.raise_if_errors()
    return ids[0]


def validate_prospects(
    frame: pd.DataFrame, model: ProspectModel, name: str = "prospects"
) -> tuple[pd.DataFrame, ValidationReport]:
    """The model's input frame (``customer_id`` as text, ``attr_<name>`` columns) and the
    warnings; DataValidationError naming file, column and rows on bad input. ``frame`` is
    not modified; a ``.csv`` ``name`` numbers rows as lines of the file."""
    csv = name.lower().endswith((".csv", ".csv.gz"))
    id_col = _structure(frame, model, name)
    assert id_col is not None
    report = ValidationReport()
    raw_ids = frame[id_col]
    missing_id = raw_ids.isna().to_numpy() | raw_ids.astype(str).str.strip().eq("").to_numpy()
    flag_rows(
        report,
        name,
        id_col,
        raw_ids,
        missing_id,
        csv,
        NO_CUSTOMER_ID.replace("customer", "prospect"),
    )
    ids = raw_ids.astype(str)
    dup = ids.duplicated(keep=False).to_numpy() & ~missing_id
    if dup.any():
        report.add(
            Issue(
                "error",
                name,
                id_col,
                int(ids[~missing_id].duplicated().sum()),
                "prospect ids must be unique; the same id appears on several rows",
                examples(raw_ids, dup, csv),
            )
        )
    out = {"customer_id": ids.to_numpy(dtype=object)}
    kinds = dict(zip(model.encoding.feature_names, model.encoding.feature_types, strict=True))
    closed = model.closed_categories
    for attribute, column in model.attributes.items():
        raw = frame[attribute]
        empty = raw.isna().to_numpy()
        if kinds.get(column) == "q":
            out[column] = parse_number(raw, name, attribute, csv, report, False).to_numpy()
        else:
            text = raw.astype(object).where(~empty, None)
            values = text.map(lambda v: None if v is None else str(v))
            if column in closed:
                known = closed[column]
                unseen = ~empty & ~values.isin(known).to_numpy()
                flag_rows(
                    report,
                    name,
                    attribute,
                    raw,
                    unseen,
                    csv,
                    "value(s) never seen in the customers table the model learned from "
                    f"(known: {', '.join(known)})",
                )
            out[column] = values.to_numpy(dtype=object)
        flag_rows(
            report, name, attribute, raw, empty, csv,
            "value(s) are empty; scored as unknown", level="warning",
        )  # fmt: skip
    report.raise_if_errors()
    return pd.DataFrame(out, index=np.arange(len(frame))), report


def first_row(issue: Issue) -> int | None:
    """The first example row of an issue (its index in the table), if it names one."""
    for text in issue.examples:
        found = _ROW.match(text)
        if found:
            row = int(found.group(1))
            return row - 2 if text.startswith("line") else row
    return None


__all__ = ["ID_COLUMNS", "DataValidationError", "first_row", "validate_prospects"]
