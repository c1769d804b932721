"""Test helper: write request-log lines exactly as the service does (no service needed)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def request_record(
    ts: datetime,
    customer_id: str | int | None = 1,
    features: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    endpoint: str = "/profile",
    cold_start: bool = False,
) -> dict[str, Any]:
    """One request as the service logs it."""
    return {
        "ts": ts.astimezone(UTC).isoformat(),
        "endpoint": endpoint,
        "customer_id": customer_id,
        "cold_start": cold_start,
        "features": dict(features or {"recency_days": 10.0, "channel": "web"}),
        "outputs": dict(
            outputs or {"churn_probability": 0.2, "segment": "loyal", "propensity_any__wine": 0.4}
        ),
        "versions": {"churn": "3", "segments": "1"},
        "latency_ms": 1.5,
    }


def write_requests(log_dir: Path, records: Iterable[Mapping[str, Any]]) -> list[Path]:
    """Append records to ``log_dir/YYYY-MM-DD.jsonl`` by their ts day; the files touched."""
    log_dir.mkdir(parents=True, exist_ok=True)
    touched: list[Path] = []
    for record in records:
        path = log_dir / f"{str(record['ts'])[:10]}.jsonl"
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if path not in touched:
            touched.append(path)
    return touched


def write_truncated(path: Path, record: Mapping[str, Any]) -> None:
    """Append half a line without its newline: what a crash mid-write leaves."""
    text = json.dumps(record)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text[: len(text) // 2])
