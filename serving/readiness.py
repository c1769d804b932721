"""Which workers are up: one file per serving worker, named by its pid, in a folder the
server process makes (``CINTEL_READY_DIR``, set by ``serving.launch`` for its workers).

A worker writes its file once its service object is built (store loaded, routes ready);
the server process's standby (``serving.standby``) reads the folder to tell "no worker is
up" (answer 503 at once) from "every worker is busy" (leave the connection in the backlog
for them). A file whose pid is gone (``kill -9``) counts for nothing and is removed.
Standard library only: the server process must not import the service.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from pathlib import Path

ENV = "CINTEL_READY_DIR"


def mark_ready(folder: str | os.PathLike[str] | None = None) -> Path | None:
    """This process is a worker that takes connections now; returns its file (None when
    no folder is set: not started by ``serving.launch``)."""
    where = folder if folder is not None else os.environ.get(ENV)
    if not where:
        return None
    path = Path(where) / str(os.getpid())
    try:
        path.touch()
    except OSError:  # the folder went (the server is stopping): nothing to announce
        return None
    atexit.register(path.unlink, True)  # a clean exit says so at once (a kill: the pid check)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process has that pid: not one of ours
        return False
    return True


def workers_up(folder: str | os.PathLike[str]) -> int:
    """How many workers that marked themselves ready are still running (stale files of
    dead ones are removed)."""
    up = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if not name.isdigit():
            continue
        if _alive(int(name)):
            up += 1
        else:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
    return up
