"""Find a decision record by its id in the decision log (for ``/feedback``).

Every worker appends to the same day files, and a restart keeps them, so the log itself is
the truth; this index only says where a record's line starts. It holds two ``uint64`` per
decision, 16 bytes: the first 64 bits of the id and the line's place (file number << 40 |
byte offset), as sorted numpy arrays plus a small unsorted tail of recent entries merged
in when it grows. It covers the day files of the last ``days`` days (older decisions are
forgotten), is built by reading them (the service starts that on a background thread),
and reads what was appended since, by this or any other worker, whenever an id is not
found. A hit reads that one line back and compares the whole id, so a shared 64-bit
prefix costs a second read, never a wrong answer.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from serving.decisions import ID_LENGTH, PREFIX

OFFSET_BITS = 40  # offsets up to 1 TiB per day file
CHUNK = 1 << 24  # bytes read at a time while indexing
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)  # 16 hex digits -> 64 bits
_PREFIX = np.frombuffer(PREFIX, dtype=np.uint8)


def id_key(decision_id: str) -> int | None:
    """The index key of an id (its first 16 hex digits), None when it is not 32 hex digits."""
    if len(decision_id) != ID_LENGTH:
        return None
    try:
        int(decision_id, 16)
    except ValueError:
        return None
    return int(decision_id[:16], 16)


def line_keys(buf: bytes) -> tuple[np.ndarray, np.ndarray, int]:
    """(keys, line starts) of the complete lines in ``buf`` and the bytes they span.

    Lines written by ``serving.decisions.record_line`` start with the id at a fixed place
    and are read without parsing; any other line is parsed (None: not a decision)."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    if len(ends) == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64), 0
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    width = len(PREFIX) + 16
    long_enough = ends - starts > len(PREFIX) + ID_LENGTH
    fast = np.zeros(len(starts), dtype=bool)
    keys = np.zeros(len(starts), dtype=np.uint64)
    cand = np.flatnonzero(long_enough)
    if len(cand):
        window = arr[starts[cand, None] + np.arange(width)]
        nibbles = _HEX[window[:, len(PREFIX) :]]
        good = (window[:, : len(PREFIX)] == _PREFIX).all(axis=1) & (nibbles != 255).all(axis=1)
        fast[cand[good]] = True
        keys[cand[good]] = (nibbles[good].astype(np.uint64) << _SHIFTS).sum(axis=1, dtype=np.uint64)
    keep = fast.copy()
    for i in np.flatnonzero(~fast):  # another writer's layout, a blank or torn line
        try:
            record = orjson.loads(buf[starts[i] : ends[i]])
        except orjson.JSONDecodeError:
            continue
        key = id_key(str(record.get("decision_id", ""))) if isinstance(record, dict) else None
        if key is not None:
            keys[i], keep[i] = key, True
    return keys[keep], starts[keep], int(ends[-1]) + 1


class DecisionIndex:
    """Decision id -> its record, over the day files of the last ``days`` days."""

    merge_at = 1 << 16  # recent entries kept unsorted (a lookup scans them) before a merge

    def __init__(self, folder: Path, days: int, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.days = days
        self._clock = clock
        self._lock = threading.Lock()
        self._files: list[Path] = []  # file number -> path
        self._scanned: dict[str, tuple[int, int]] = {}  # file name -> (number, bytes read)
        self._keys = np.empty(0, dtype=np.uint64)
        self._where = np.empty(0, dtype=np.uint64)
        self._new_keys: array[int] = array("Q")
        self._new_where: array[int] = array("Q")

    def __len__(self) -> int:
        return len(self._keys) + len(self._new_keys)

    @property
    def memory_bytes(self) -> int:
        """What the entries take (16 bytes per decision)."""
        return int(self._keys.nbytes + self._where.nbytes) + 16 * len(self._new_keys)

    def sync(self) -> int:
        """Index what was appended to the day files since the last call; returns how many
        decisions were added."""
        with self._lock:
            return self._sync()

    def find(self, decision_id: str) -> dict[str, Any] | None:
        """The record of ``decision_id``, or None when the log of the last ``days`` days
        has none (looked up again after reading the files' new lines)."""
        key = id_key(decision_id)
        if key is None:
            return None
        with self._lock:
            found = self._find(key, decision_id)
            if found is None and self._sync():
                found = self._find(key, decision_id)
            return found

    # ---- internals (under the lock) --------------------------------------------------
    def _window(self) -> list[Path]:
        first = (datetime.fromtimestamp(self._clock(), UTC) - timedelta(days=self.days)).date()
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.jsonl") if p.stem >= first.isoformat())

    def _sync(self) -> int:
        paths = self._window()
        wanted = {p.name for p in paths}
        gone = [number for name, (number, _) in self._scanned.items() if name not in wanted]
        if gone:
            self._forget(gone)
            self._scanned = {n: v for n, v in self._scanned.items() if n in wanted}
        added = 0
        for path in paths:
            number, done = self._scanned.get(path.name, (-1, 0))
            if number < 0:
                number = len(self._files)
                self._files.append(path)
            try:
                if path.stat().st_size > done:
                    done, n = self._read(path, number, done)
                    added += n
            except FileNotFoundError:
                pass
            self._scanned[path.name] = (number, done)
        if len(self._new_keys) > max(self.merge_at, len(self._keys) >> 4):
            self._merge()
        return added

    def _read(self, path: Path, number: int, offset: int) -> tuple[int, int]:
        added = 0
        with open(path, "rb") as fh:
            fh.seek(offset)
            rest = b""
            while chunk := fh.read(CHUNK):
                buf = rest + chunk
                keys, starts, used = line_keys(buf)
                where = (np.uint64(number) << np.uint64(OFFSET_BITS)) | (
                    starts.astype(np.uint64) + np.uint64(offset)
                )
                self._new_keys.extend(keys.tolist())
                self._new_where.extend(where.tolist())
                added += len(keys)
                offset += used
                rest = buf[used:]
        return offset, added

    def _merge(self) -> None:
        keys = np.frombuffer(self._new_keys, dtype=np.uint64)
        where = np.frombuffer(self._new_where, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        keys, where = keys[order], where[order]
        at = np.searchsorted(self._keys, keys)
        self._keys = np.insert(self._keys, at, keys)
        self._where = np.insert(self._where, at, where)
        self._new_keys, self._new_where = array("Q"), array("Q")

    def _forget(self, numbers: list[int]) -> None:
        self._merge()
        drop = np.isin(self._where >> np.uint64(OFFSET_BITS), np.array(numbers, np.uint64))
        self._keys, self._where = self._keys[~drop], self._where[~drop]

    def _find(self, key: int, decision_id: str) -> dict[str, Any] | None:
        k = np.uint64(key)
        lo, hi = np.searchsorted(self._keys, k, "left"), np.searchsorted(self._keys, k, "right")
        places = self._where[lo:hi].tolist()
        if len(self._new_keys):
            recent = np.frombuffer(self._new_keys, dtype=np.uint64) == k
            places += np.frombuffer(self._new_where, dtype=np.uint64)[recent].tolist()
        for place in places:
            record = self._line(place)
            if record is not None and record.get("decision_id") == decision_id:
                return record
        return None

    def _line(self, place: int) -> dict[str, Any] | None:
        path = self._files[place >> OFFSET_BITS]
        try:
            with open(path, "rb") as fh:
                fh.seek(place & ((1 << OFFSET_BITS) - 1))
                record = orjson.loads(fh.readline())
        except (OSError, orjson.JSONDecodeError):
            return None
        return record if isinstance(record, dict) else None
