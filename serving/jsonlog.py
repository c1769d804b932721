"""Durable append-only JSON-lines logs (requests, feedback, decisions), one file per UTC day.

Records are queued by the request path and written by one background thread that flushes
every batch and fsyncs it (or, with ``fsync_every_s``, at most that often; ``linger_s``
makes the writer wait that long after a record arrives, so it wakes once per batch), so a
request pays a queue put, not a disk write; ``close()`` drains the queue. A process crash
loses what is still queued, a machine crash also what was not fsynced yet, and a
half-written last line is skipped by readers. ``write_through`` is the decision log's
path: one plain ``write()`` of complete lines to a file opened with ``O_APPEND`` before
the answer goes out, so an acknowledged record is in the OS and survives a SIGKILL of
the process (not a power cut: no fsync per request); several worker processes append to
the same day file safely.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

_STOP = object()
logger = logging.getLogger(__name__)


_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars orjson does not take natively
        return value.item()
    return str(value)


def encode(record: dict[str, Any]) -> bytes:
    """One JSON line; NaN and infinities become null (orjson's rule), so every line is
    strict JSON."""
    return orjson.dumps(record, default=_default, option=_OPTIONS)


@contextlib.contextmanager
def folder_lock(folder: Path, name: str = ".lock") -> Iterator[None]:
    """Hold ``<folder>/<name>`` exclusively: one process at a time appends to, or takes in,
    the folder's shared files (the feedback store, the event log; the event rows have a
    lock of their own)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class _Lazy:
    make: Callable[[str], Iterable[bytes]]
    ts: str


class JsonLog:
    """Append records to ``<folder>/<YYYY-MM-DD>.jsonl`` from a background writer."""

    def __init__(
        self, folder: Path, batch: int = 256, fsync_every_s: float = 0.0, linger_s: float = 0.0
    ) -> None:
        self.folder = folder
        self.batch = batch
        # the writer waits this long after a record arrives before it writes what came
        # meanwhile: one wake-up per batch instead of one per record (a wake-up takes the
        # GIL from the request path each time)
        self.linger_s = linger_s
        # the background writer fsyncs a batch at most this often (0: every batch): under
        # load a batch is a few records, and an fsync per batch forces a journal commit
        # that stalls every other writer of the file system (the decision log's write())
        self.fsync_every_s = fsync_every_s
        self._synced_at = 0.0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._fds: dict[str, int] = {}  # write_through's open day file
        self.written = 0
        self.dropped = 0

    def append(self, record: dict[str, Any]) -> None:
        """Queue ``record`` (a ``ts`` in UTC is added when missing)."""
        self._start()
        record.setdefault("ts", datetime.now(UTC).isoformat(timespec="microseconds"))
        self._queue.put(record)

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    self._thread = threading.Thread(target=self._run, daemon=True)
                    self._thread.start()

    def extend(self, make: Callable[[str], Iterable[bytes]]) -> None:
        """Queue lines built later, on the writer thread: ``make(ts)`` is called there with
        the UTC time of now (ISO) and returns encoded JSON lines of that time."""
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        self._start()
        self._queue.put(_Lazy(make, ts))

    def write_now(self, record: dict[str, Any]) -> None:
        """Append synchronously and fsync (for records that must survive, e.g. feedback)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record.setdefault("ts", datetime.now(UTC).isoformat(timespec="microseconds"))
        self._write([(self._path(record["ts"]), encode(record))])

    def write_through(self, data: bytes, ts: str, records: int = 1) -> None:
        """Hand ``data`` (``records`` complete JSON lines, newline-terminated) to the OS now,
        in the day file of ``ts``; OSError when it cannot (the caller must not acknowledge)."""
        day = ts[:10]
        with self._lock:
            fd = self._fds.get(day)
            if fd is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                fd = os.open(self.folder / f"{day}.jsonl", flags, 0o644)
                for old in self._fds.values():
                    os.close(old)
                self._fds = {day: fd}
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(fd, view) :]
            except OSError:
                if len(view) < len(data):  # end the torn line: the next record stays readable
                    with contextlib.suppress(OSError):
                        os.write(fd, b"\n")
                raise
            self.written += records

    def _path(self, ts: Any) -> Path:
        return self.folder / f"{str(ts)[:10]}.jsonl"

    def _write(self, records: list[tuple[Path, bytes]], sync: bool = True) -> None:
        by_file: dict[Path, list[bytes]] = {}
        for path, line in records:
            by_file.setdefault(path, []).append(line)
        now = time.monotonic()
        sync = sync or now - self._synced_at >= self.fsync_every_s
        for path, lines in by_file.items():
            with open(path, "ab") as fh:
                fh.write(b"\n".join(lines) + b"\n")
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
        if sync:
            self._synced_at = now
        self.written += len(records)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if self.linger_s > 0 and item is not _STOP:
                time.sleep(self.linger_s)
            items = [item]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(i is _STOP for i in items)
            records: list[tuple[Path, bytes]] = []
            for item in items:
                if isinstance(item, _Lazy):
                    path = self._path(item.ts)
                    try:
                        lines = list(item.make(item.ts))
                        records.extend((path, line) for line in lines)
                    except Exception:  # a bad record must not stop the writer
                        self.dropped += 1
                        logger.exception("request log: could not build records")
                elif item is not _STOP:
                    records.append((self._path(item["ts"]), encode(item)))
            if records:
                self._write(records, sync=stop)
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
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds = {}
