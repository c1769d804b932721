"""Read the service's durable request log (``requests/YYYY-MM-DD.jsonl``) into one frame."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

BASE_COLUMNS: tuple[str, ...] = (
    "ts",
    "endpoint",
    "customer_id",
    "cold_start",
    "latency_ms",
)
VERSION_PREFIX = "version."
OUTPUT_CLASH_PREFIX = "output."
MAX_BAD_SHARE = 0.5  # more bad lines than this in one file: not a request log, raise
# answers about people without a history (no features): never compared with the reference
PROSPECT_ENDPOINT = "/prospect"


class RequestLogWarning(UserWarning):
    """Lines of the request log were skipped (truncated or corrupt)."""


def _as_utc(value: datetime | date | str | None) -> pd.Timestamp | None:
    """A UTC timestamp; naive values are taken as UTC, dates as their midnight."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)


def _file_day(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.stem)
    except ValueError:
        return None


def log_files(
    log_dir: Path, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None
) -> list[Path]:
    """Day files that can hold requests in [since, until), oldest first.

    FileNotFoundError when the folder is missing or holds no ``YYYY-MM-DD.jsonl`` file.
    """
    log_dir = Path(log_dir)
    hint = "the service writes one YYYY-MM-DD.jsonl file a day there once it answers requests"
    if not log_dir.is_dir():
        raise FileNotFoundError(f"request log folder {log_dir} does not exist: {hint}")
    days = sorted((d, p) for p in log_dir.glob("*.jsonl") if (d := _file_day(p)) is not None)
    if not days:
        raise FileNotFoundError(f"request log folder {log_dir} holds no request files: {hint}")
    first = since.date() if since is not None else date.min
    last = until.date() if until is not None else date.max
    return [p for d, p in days if first <= d <= last]


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """One row: base fields, features by name, outputs by name, ``version.<model>``."""
    row: dict[str, Any] = {key: record.get(key) for key in BASE_COLUMNS}
    features = record.get("features") or {}
    outputs = record.get("outputs") or {}
    row.update(features)
    for name, value in outputs.items():
        # a feature keeps its name (as in the reference sample); a clashing output moves aside
        key = name if name not in row else OUTPUT_CLASH_PREFIX + name
        row[key] = value
    for model, version in (record.get("versions") or {}).items():
        row[VERSION_PREFIX + model] = None if version is None else str(version)
    return row


def _read_file(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """Parsed rows and the numbers of the lines that were not valid request records."""
    rows: list[dict[str, Any]] = []
    bad: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                bad.append(number)
                continue
            if not isinstance(record, dict) or "ts" not in record:
                bad.append(number)
                continue
            rows.append(_flatten(record))
    if bad and len(bad) > MAX_BAD_SHARE * (len(bad) + len(rows)):
        raise ValueError(
            f"{path}: {len(bad)} of {len(bad) + len(rows)} lines are not request records "
            f"(first bad line {bad[0]}); is this a cintel request log?"
        )
    return rows, bad


def read_requests(
    log_dir: Path | str,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
) -> pd.DataFrame:
    """Requests with ``since <= ts < until`` (UTC; naive times are UTC) as one flat frame.

    Columns: ts (UTC datetime), endpoint, customer_id, cold_start, latency_ms, every
    feature by its name, every output by its name (``output.<name>`` if a feature has the
    same name) and ``version.<model>``. Lines that are not valid JSON -- a truncated last
    line after a crash mid-write -- are skipped with one RequestLogWarning giving the
    count; ``frame.attrs["skipped_lines"]`` holds it too. A window without requests gives
    an empty frame; a missing or empty folder raises FileNotFoundError.
    """
    start, end = _as_utc(since), _as_utc(until)
    rows: list[dict[str, Any]] = []
    examples: list[str] = []
    for path in log_files(Path(log_dir), start, end):
        file_rows, bad = _read_file(path)
        rows.extend(file_rows)
        examples.extend(f"{path.name}:{n}" for n in bad)
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=list(BASE_COLUMNS))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601", errors="coerce")
    n_skipped = len(examples) + int(frame["ts"].isna().sum())
    if frame["ts"].isna().any():
        examples.append("a line with an unreadable ts")
        frame = frame[frame["ts"].notna()]
    if n_skipped:
        warnings.warn(
            f"request log: skipped {n_skipped} unreadable line(s) (truncated or corrupt), "
            f"e.g. {', '.join(examples[:3])}",
            RequestLogWarning,
            stacklevel=2,
        )
    if start is not None:
        frame = frame[frame["ts"] >= start]
    if end is not None:
        frame = frame[frame["ts"] < end]
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    frame.attrs["skipped_lines"] = n_skipped
    return frame


def customer_requests(frame: pd.DataFrame) -> pd.DataFrame:
    """The requests about customers: ``/prospect`` lines (scores of people without a
    history, no features) are left out of what is compared with the store's reference."""
    if "endpoint" not in frame.columns:
        return frame
    return frame[frame["endpoint"].ne(PROSPECT_ENDPOINT).fillna(True).astype(bool)]


def served_by(frame: pd.DataFrame, versions: Mapping[str, str]) -> pd.DataFrame:
    """The requests answered by exactly ``versions`` (``{model: version}``, every model).

    Right after a publish the window still holds requests the previous champions and store
    answered; judged against the new publish's reference they look like drift. A frame
    without a ``version.<model>`` column has no request of those versions.
    """
    keep = pd.Series(True, index=frame.index)
    for model, version in versions.items():
        column = VERSION_PREFIX + model
        if column not in frame.columns:
            return frame.iloc[0:0]
        keep &= frame[column].astype("string").eq(str(version)).fillna(False).astype(bool)
    return frame[keep]
