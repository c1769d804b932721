"""Channel outcomes (``/feedback``): the durable feedback log, shared by every worker.

Records go to ``CINTEL_HOME/feedback/<UTC day>.jsonl``, appended and fsynced under an
exclusive lock of ``feedback/.lock`` (several worker processes write there). Before each
write the store reads the lines other workers appended since its last look, so the
contact caps (``serving.contacts``) count every worker's feedback and the same
(decision_id, offer_id, outcome) is stored once whichever worker gets the repeat. Two
bodies: by decision (``{"decision_id", "offer_id", "outcome"}``: the customer and channel
come from the decision record) and the older one by customer (``{"customer_id",
"offer_id", "channel", "outcome"}``, not de-duplicated: every record is a contact).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from serving.contacts import ContactHistory
from serving.jsonlog import folder_lock

Key = tuple[str, str, str]  # (decision_id, offer_id, outcome)


def _key(record: dict[str, Any]) -> Key | None:
    decision = record.get("decision_id")
    if not decision:
        return None
    return (str(decision), str(record.get("offer_id")), str(record.get("outcome")))


class FeedbackStore:
    """The feedback log with the contact history and the outcomes already stored."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.contacts = ContactHistory()
        self._seen: set[Key] = set()
        self._read_to: dict[str, int] = {}  # file name -> bytes read
        self._lock = threading.Lock()
        with self._lock:
            self._sync()

    def store(self, record: dict[str, Any]) -> bool:
        """Append ``record`` (a UTC ``ts`` is added) unless it repeats a stored outcome of
        the same decision and offer; returns whether it was stored."""
        record.setdefault("ts", datetime.now(UTC).isoformat(timespec="microseconds"))
        key = _key(record)
        with self._lock, folder_lock(self.folder):
            self._sync()
            if key is not None and key in self._seen:
                return False
            path = self.folder / f"{str(record['ts'])[:10]}.jsonl"
            with open(path, "ab") as fh:
                fh.write(orjson.dumps(record) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._sync()  # takes in our own line like everyone else's
        return True

    def refresh(self) -> None:
        """Take in what other workers appended since the last look."""
        with self._lock:
            self._sync()

    def follow(self, every_s: float = 1.0, stop: threading.Event | None = None) -> None:
        """Refresh every ``every_s`` seconds on a daemon thread (until ``stop`` is set), so
        contact caps count another worker's feedback within that time."""
        event = stop or threading.Event()

        def run() -> None:
            while not event.wait(every_s):
                self.refresh()

        threading.Thread(target=run, name="cintel-feedback-follow", daemon=True).start()

    def _sync(self) -> None:
        """Take in the complete lines appended to any day file since the last call."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.jsonl")):
            done = self._read_to.get(path.name, 0)
            try:
                if path.stat().st_size <= done:
                    continue
                with open(path, "rb") as fh:
                    fh.seek(done)
                    data = fh.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1  # a line still being written waits for next time
            for line in data[:end].splitlines():
                self._take(line)
            self._read_to[path.name] = done + end

    def _take(self, line: bytes) -> None:
        try:
            record = orjson.loads(line)
            cid, oid, ts = record["customer_id"], str(record["offer_id"]), record["ts"]
            if cid is not None:  # None: a decision of an anonymous /score, nobody to cap
                self.contacts.add(str(cid), oid, ts)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return  # a torn or foreign line counts for nothing
        key = _key(record)
        if key is not None:
            self._seen.add(key)
