"""Contacts recorded by every worker: follow the durable feedback log, not just this process.

Each service worker appends the feedback it receives to ``feedback/<day>.jsonl`` and counts
it at once in its own ``ContactHistory``; with several workers (``cintel serve --workers``)
the others learn of it from the log. ``follow_contacts`` loads the whole log, then reads
the complete lines appended since, every ``every_s`` seconds, on a daemon thread. Adding a
record twice is harmless (``ContactHistory.add`` counts a customer, offer and instant once).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from serving.contacts import ContactHistory

logger = logging.getLogger(__name__)


class FeedbackTail:
    """Reads the new complete lines of every ``*.jsonl`` file of ``folder`` into ``contacts``."""

    def __init__(self, folder: Path, contacts: ContactHistory) -> None:
        self.folder = folder
        self.contacts = contacts
        self.offsets: dict[Path, int] = {}
        self.skipped = 0

    def poll(self) -> int:
        """Add what was appended since the last call; returns the contacts added."""
        if not self.folder.is_dir():
            return 0
        added = 0
        for path in sorted(self.folder.glob("*.jsonl")):
            try:
                size = path.stat().st_size
                start = self.offsets.get(path, 0)
                if size <= start:
                    continue
                with open(path, "rb") as handle:
                    handle.seek(start)
                    chunk = handle.read(size - start)
            except OSError:
                continue
            end = chunk.rfind(b"\n") + 1  # a line still being written waits for next time
            self.offsets[path] = start + end
            for line in chunk[:end].splitlines():
                added += self._add(line)
        return added

    def _add(self, line: bytes) -> int:
        try:
            record = json.loads(line)
            return int(self.contacts.add(record["customer_id"], record["offer_id"], record["ts"]))
        except (ValueError, TypeError, KeyError):  # a torn or foreign line: not a contact
            self.skipped += 1
            if self.skipped == 1:
                logger.warning("feedback log: skipped a line that is not a feedback record")
            return 0

    def run(self, every_s: float, stop: threading.Event) -> None:
        while not stop.wait(every_s):
            try:
                self.poll()
            except Exception:  # never let the tail thread die; the next poll retries
                logger.exception("feedback log: could not read new records")


def follow_contacts(
    folder: Path, every_s: float = 1.0, stop: threading.Event | None = None
) -> ContactHistory:
    """The contact history of ``folder``'s feedback log, kept current on a daemon thread
    (``every_s`` <= 0: loaded once). Setting ``stop`` ends the thread."""
    contacts = ContactHistory()
    tail = FeedbackTail(folder, contacts)
    tail.poll()
    if every_s > 0:
        thread = threading.Thread(
            target=tail.run,
            args=(every_s, stop or threading.Event()),
            name="cintel-feedback-tail",
            daemon=True,
        )
        thread.start()
    return contacts
