"""Durable append-only JSON-lines logs (requests, feedback), one file per UTC day.

Records are queued by the request path and written by one background thread that flushes
and fsyncs every batch, so a request pays a queue put, not a disk write; ``close()``
drains the queue. A crash can lose at most the last batch, and a half-written last line
is skipped by readers.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_STOP = object()


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode(record: dict[str, Any]) -> str:
    """One JSON line; NaN and infinities become null so every line is strict JSON."""
    return json.dumps(_clean(record), default=_default, allow_nan=False, separators=(",", ":"))


class JsonLog:
    """Append records to ``<folder>/<YYYY-MM-DD>.jsonl`` from a background writer."""

    def __init__(self, folder: Path, batch: int = 256) -> None:
        self.folder = folder
        self.batch = batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.written = 0

    def append(self, record: dict[str, Any]) -> None:
        """Queue ``record`` (a ``ts`` in UTC is added when missing)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    self._thread = threading.Thread(target=self._run, daemon=True)
                    self._thread.start()
        record.setdefault("ts", datetime.now(UTC).isoformat(timespec="microseconds"))
        self._queue.put(record)

    def write_now(self, record: dict[str, Any]) -> None:
        """Append synchronously and fsync (for records that must survive, e.g. feedback)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record.setdefault("ts", datetime.now(UTC).isoformat(timespec="microseconds"))
        self._write([record])

    def _path(self, record: dict[str, Any]) -> Path:
        return self.folder / f"{str(record['ts'])[:10]}.jsonl"

    def _write(self, records: list[dict[str, Any]]) -> None:
        by_file: dict[Path, list[str]] = {}
        for rec in records:
            by_file.setdefault(self._path(rec), []).append(encode(rec))
        for path, lines in by_file.items():
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        self.written += len(records)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            items = [item]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(i is _STOP for i in items)
            records = [i for i in items if i is not _STOP]
            if records:
                self._write(records)
            for _ in items:
                self._queue.task_done()
            if stop:
                return

    def flush(self) -> None:
        """Block until everything queued so far is on disk."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Drain the queue and stop the writer."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None


def read_jsonl(folder: Path) -> list[dict[str, Any]]:
    """All complete records of a log folder, oldest file first (a torn last line is skipped)."""
    out: list[dict[str, Any]] = []
    if not folder.exists():
        return out
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out
