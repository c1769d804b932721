"""``events/.updater.lock``: held by the one updater process of a service for as long as it lives.

The updater takes it exclusively (``flock``) once its models and store are loaded and
writes its pid into it; the kernel releases it when the process dies, however it dies.
A worker probes it with a shared, non-blocking ``flock`` (two workers probing at once do
not see each other): refused means an updater is alive and will compute the rows, granted
means none is (it died, or the service runs without one) and the worker computes them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = ".updater.lock"


def live_updater(folder: Path) -> int | None:
    """The pid of the live updater of ``folder`` (0 if it has not written it yet), or None."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class UpdaterLock:
    """The updater's hold on ``folder``'s lock (``acquire`` blocks while another holds it)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, block: bool = True) -> bool:
        """Hold the lock and write this pid into it; False if ``block`` is off and it is held."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the only descriptor releases the flock
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
