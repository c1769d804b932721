"""Run a server as a child and stop its whole process tree with it (``serve``, ``ui``).

``bentoml serve`` and ``mlflow server`` start workers of their own (BentoML's in new
sessions), so a plain ``subprocess.run`` that dies on SIGTERM leaves them running,
re-parented, holding the port. Here the child runs in its own session; SIGTERM, SIGINT
(Ctrl-C) or SIGHUP to this process is forwarded to it once as SIGTERM, which both servers
take as "drain the requests in flight, then exit"; after ``stop_timeout`` seconds whatever
is left of the tree -- every descendant seen while it ran -- is killed. A second signal
kills at once. On Linux the child also gets SIGTERM if this process dies without a word.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

import psutil

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
POLL_S = 0.2
KILLED = 1  # exit code when the tree had to be killed


def die_with_parent() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` asking the kernel to SIGTERM the child when this process
    dies (prctl is looked up here, before the fork; the child only calls it)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


class _Tree:
    """The child and every descendant seen so far (a dead child's orphans stay known)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.known: dict[int, psutil.Process] = {pid: self.root}

    def refresh(self) -> None:
        try:
            for proc in self.root.children(recursive=True):
                self.known.setdefault(proc.pid, proc)
        except psutil.NoSuchProcess:
            pass
        for proc in list(self.known.values()):
            if proc.is_running():  # orphans of a dead child: their own children too
                try:
                    for sub in proc.children(recursive=True):
                        self.known.setdefault(sub.pid, sub)
                except psutil.NoSuchProcess:
                    pass

    def alive(self) -> list[psutil.Process]:
        alive = []
        for proc in self.known.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.NoSuchProcess:
                continue
        return alive

    def signal(self, sig: int) -> None:
        for proc in self.alive():
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                continue


def run_supervised(
    cmd: Sequence[str],
    env: Mapping[str, str] | None = None,
    stop_timeout: float = 30.0,
    leftover_timeout: float = 5.0,
) -> int:
    """Run ``cmd`` until it exits or this process is told to stop; return an exit code.

    The child's own code when it exits by itself; 0 when a stop was asked for and the tree
    stopped within ``stop_timeout`` seconds; ``KILLED`` (1) when it had to be killed. Any
    descendant still running after the child is gone gets SIGTERM, then SIGKILL after
    ``leftover_timeout`` seconds.
    """
    proc = subprocess.Popen(
        list(cmd),
        env=dict(env) if env is not None else None,
        start_new_session=True,  # a terminal's Ctrl-C reaches only us; we forward it once
        preexec_fn=die_with_parent(),  # no threads run here yet
    )
    tree = _Tree(proc.pid)
    asked: list[float] = []

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        asked.append(time.monotonic())
        if len(asked) == 1:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        else:  # a second Ctrl-C: no more waiting
            tree.signal(signal.SIGKILL)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    killed = False
    try:
        while True:
            try:
                code = proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                tree.refresh()
            if asked and not killed and time.monotonic() - asked[0] > stop_timeout:
                tree.refresh()
                tree.signal(signal.SIGKILL)
                killed = True
        killed = _reap_leftovers(tree, leftover_timeout) or killed
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if killed:
        print(
            f"{os.path.basename(cmd[0])}: did not stop within the timeout; killed",
            file=sys.stderr,
        )
        return KILLED
    return 0 if asked else code


def _reap_leftovers(tree: _Tree, timeout: float) -> bool:
    """SIGTERM, then SIGKILL, to descendants that outlived the child; True if any was killed."""
    tree.refresh()
    left = tree.alive()
    if not left:
        return False
    tree.signal(signal.SIGTERM)
    _, still = psutil.wait_procs(left, timeout=timeout)
    if not still:
        return False
    for proc in still:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(still, timeout=timeout)
    return True
