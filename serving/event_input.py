"""``POST /events`` bodies and their validation with the data contract's own checks.

A body holds one or more transactions in the contract's columns (``customer_id``, ``ts``,
``amount``, ``family``, optional ``channel``, ``margin``, ``quantity``) plus an
``event_id``. The values are parsed by ``training.data.checks`` exactly as a transactions
file is, so a bad value gets the file validation's words ("1 value(s) are not finite
numbers"), here with the row and field of the body. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from pydantic import StringConstraints as Text

from training.data.checks import (
    ValidationReport,
    parse_category,
    parse_dates,
    parse_ids,
    parse_number,
)

EventId = Annotated[str, Text(min_length=1, max_length=128, strip_whitespace=True)]
Scalar = StrictStr | StrictInt | StrictFloat | None
NAME = "events"  # the "file" the contract's messages name
PLAIN_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?"
)
MAX_FUTURE = pd.Timedelta(minutes=5)  # clock skew allowed between a till and this server


class Event(BaseModel):
    """One transaction, in the data contract's columns, with the id that makes it unique."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId = Field(description="unique per transaction: a repeat is stored once")
    customer_id: StrictStr | StrictInt
    ts: StrictStr = Field(description="ISO 8601, e.g. 2025-06-30T14:05:00Z (UTC if no zone)")
    amount: Scalar = Field(description="money; negative for a return")
    family: Scalar = Field(description="product family, one of the store's")
    channel: Scalar = None
    margin: Scalar = Field(default=None, description="absent: the amount is the margin")
    quantity: Scalar = None


class EventsRequest(BaseModel):
    """One transaction or a batch: ``{"events": [...]}``."""

    model_config = ConfigDict(extra="forbid")

    events: list[Event] = Field(min_length=1, max_length=1000)


class EventsAnswer(BaseModel):
    """What was stored: new events, and repeats of stored event ids (stored once)."""

    accepted: int = Field(description="events stored now (in the event log before this answer)")
    duplicates: int = Field(description="events whose event_id was already stored (kept once)")
    customers: int = Field(description="customers whose profile the new events update")


class EventError(ValueError):
    """A body that breaks the contract; ``field`` is the dotted path of the first problem."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Layout:
    """The store's categories: an event must use them (the models know no others)."""

    families: tuple[str, ...]
    channels: tuple[str, ...]


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def validate_events(
    events: Sequence[Event], layout: Layout, now: pd.Timestamp | None = None
) -> list[dict[str, Any]]:
    """The events as clean records (``ts`` a naive UTC ISO string, numbers as floats,
    ``customer_id`` a string); raise ``EventError`` naming the first bad row and field.

    Plain values (ISO times, numbers, known categories) take a pure-Python path of a few
    microseconds; anything else goes through the contract's own parsers (~10 ms of pandas),
    which accept what a file would and word every refusal as for a file."""
    limit = (pd.Timestamp.now("UTC").tz_localize(None) if now is None else now) + MAX_FUTURE
    fast = [_plain(e, layout, limit.to_pydatetime()) for e in events]
    if all(r is not None for r in fast):
        return [r for r in fast if r is not None]
    return _contract(events, layout, now)


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a plain decimal text; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip() and value.strip()[-1].isdigit():
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _plain(event: Event, layout: Layout, limit: datetime) -> dict[str, Any] | None:
    """The clean record of an event whose every value is plain; None to take the contract
    path (which parses the rest as a file would, or names what is wrong)."""
    if not PLAIN_TIME.fullmatch(event.ts):
        return None
    try:
        stamp = datetime.fromisoformat(event.ts)
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    amount = _number(event.amount)
    margin = amount if event.margin is None else _number(event.margin)
    quantity = 1.0 if event.quantity is None else _number(event.quantity)
    channel = event.channel
    if channel is None and layout.channels == ("unknown",):
        channel = "unknown"
    ok = (
        stamp <= limit
        and amount is not None
        and margin is not None
        and quantity is not None
        and event.family in layout.families
        and channel in layout.channels
    )
    if not ok:
        return None
    return {
        "event_id": event.event_id,
        "customer_id": str(event.customer_id),
        "ts": pd.Timestamp(stamp).isoformat(),
        "amount": amount,
        "family": event.family,
        "channel": channel,
        "margin": margin,
        "quantity": quantity,
    }


def _contract(
    events: Sequence[Event], layout: Layout, now: pd.Timestamp | None
) -> list[dict[str, Any]]:
    """``validate_events`` with the contract's parsers (every value, every message)."""
    raw = pd.DataFrame([e.model_dump() for e in events])
    report = ValidationReport()
    ids = parse_ids(raw["customer_id"], NAME, False, report).astype(str)
    ts = parse_dates(_utc(raw["ts"]), NAME, "ts", False, report, False)
    amount = parse_number(raw["amount"], NAME, "amount", False, report, True)
    parse_category(raw["family"], NAME, "family", False, report)
    margin = parse_number(raw["margin"], NAME, "margin", False, report, False)
    quantity = parse_number(raw["quantity"], NAME, "quantity", False, report, False)
    _raise_first(report, raw)
    now = pd.Timestamp.now("UTC").tz_localize(None) if now is None else now
    future = (ts > now + MAX_FUTURE).to_numpy()
    if future.any():
        i = _first_row(future)
        raise EventError(
            f"events[{i}].ts: {raw['ts'].iloc[i]!r} is after this server's clock "
            f"({now:%Y-%m-%d %H:%M} UTC); a transaction cannot come from the future",
            f"events[{i}].ts",
        )
    family = raw["family"].astype(str)
    _known(family, layout.families, "family", "product family")
    no_channel = layout.channels == ("unknown",)
    channel = raw["channel"].where(raw["channel"].notna(), "unknown" if no_channel else None)
    missing = channel.isna().to_numpy()
    if missing.any():
        i = _first_row(missing)
        raise EventError(
            f"events[{i}].channel: required (the store's data has channels: "
            f"{', '.join(layout.channels)})",
            f"events[{i}].channel",
        )
    _known(channel.astype(str), layout.channels, "channel", "channel")
    return [
        {
            "event_id": e.event_id,
            "customer_id": str(ids.iloc[i]),
            "ts": ts.iloc[i].isoformat(),
            "amount": float(amount.iloc[i]),
            "family": str(family.iloc[i]),
            "channel": str(channel.iloc[i]),
            "margin": float(amount.iloc[i] if np.isnan(margin.iloc[i]) else margin.iloc[i]),
            "quantity": 1.0 if np.isnan(quantity.iloc[i]) else float(quantity.iloc[i]),
        }
        for i, e in enumerate(events)
    ]


def _utc(values: pd.Series) -> pd.Series:
    """Each time as naive UTC: a body may mix zones and zone-less times (UTC), which one
    column parse refuses; what does not parse is left as it is for the contract's check."""

    def one(value: Any) -> Any:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return value
        if stamp is pd.NaT:
            return value
        return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def _raise_first(report: ValidationReport, raw: pd.DataFrame) -> None:
    """The contract's message of the first error, with the row it names as the field."""
    if not report.errors:
        return
    issue = report.errors[0]
    row = issue.examples[0].split(":")[0].removeprefix("row ") if issue.examples else "0"
    field = f"events[{row}].{issue.column}" if issue.column else "events"
    raise EventError("; ".join(str(i) for i in report.errors), field)


def _known(values: pd.Series, known: Sequence[str], column: str, what: str) -> None:
    bad = ~values.isin(list(known)).to_numpy()
    if bad.any():
        i = _first_row(bad)
        raise EventError(
            f"events[{i}].{column}: {values.iloc[i]!r} is not a {what} of the online store "
            f"(known: {', '.join(known)}); the models know no other",
            f"events[{i}].{column}",
        )
