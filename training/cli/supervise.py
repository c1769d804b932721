"""Run a server as a child and stop its whole process tree with it (``serve``, ``ui``).

``bentoml serve`` and ``mlflow server`` start workers of their own (BentoML's in new
sessions), so a plain ``subprocess.run`` that dies on SIGTERM leaves them running,
re-parented, holding the port. Here the child runs in its own session; SIGTERM, SIGINT
(Ctrl-C) or SIGHUP to this process is forwarded to it once as SIGTERM, which both servers
take as "drain the requests in flight, then exit"; after ``stop_timeout`` seconds whatever
is left of the tree -- every descendant seen while it ran -- is killed. A second signal
kills at once. On Linux the child also gets SIGTERM if this process dies without a word.
Companion processes (``sidecars``: ``cintel serve``'s event updater) run beside the child
the same way, are restarted when they exit (after ``RESTART_S``, doubling while they keep
dying young) and are stopped with it.
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
RESTART_S = 0.5  # a sidecar that exited is started again after this (doubling to 30 s
YOUNG_S = 10.0  # while it keeps exiting within this many seconds of its start)


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

    def add(self, pid: int) -> None:
        """Know ``pid`` (a sidecar) and, from now on, its descendants."""
        with contextlib.suppress(psutil.NoSuchProcess):
            self.known.setdefault(pid, psutil.Process(pid))

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


def _start(cmd: Sequence[str], env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(cmd),
        env=dict(env) if env is not None else None,
        start_new_session=True,  # a terminal's Ctrl-C reaches only us; we forward it once
        preexec_fn=die_with_parent(),  # no threads run here
    )


class _Sidecar:
    """A companion process: started again when it exits, until a stop is asked for."""

    def __init__(self, cmd: Sequence[str], env: Mapping[str, str] | None, tree: _Tree) -> None:
        self.cmd, self.env, self.tree = list(cmd), env, tree
        self.delay = RESTART_S
        self.due: float | None = None  # when to start it again
        self.proc = self._launch()

    def _launch(self) -> subprocess.Popen[bytes]:
        proc = _start(self.cmd, self.env)
        self.started = time.monotonic()
        self.tree.add(proc.pid)
        return proc

    def check(self) -> None:
        """Start it again if it exited (and its delay has passed)."""
        now = time.monotonic()
        if self.due is None:
            code = self.proc.poll()
            if code is None:
                return
            young = now - self.started < YOUNG_S
            self.delay = min(30.0, self.delay * 2) if young else RESTART_S
            self.due = now + self.delay
            print(
                f"{os.path.basename(self.cmd[-1])}: exited with code {code}; starting it "
                f"again in {self.delay:g} s",
                file=sys.stderr,
            )
        elif now >= self.due:
            self.due = None
            self.proc = self._launch()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)


def run_supervised(
    cmd: Sequence[str],
    env: Mapping[str, str] | None = None,
    stop_timeout: float = 30.0,
    leftover_timeout: float = 5.0,
    sidecars: Sequence[Sequence[str]] = (),
) -> int:
    """Run ``cmd`` (and the ``sidecars`` beside it, restarted when they exit) until it
    exits or this process is told to stop; return an exit code.

    The child's own code when it exits by itself; 0 when a stop was asked for and the tree
    stopped within ``stop_timeout`` seconds; ``KILLED`` (1) when it had to be killed. Any
    descendant still running after the child is gone (a sidecar too) gets SIGTERM, then
    SIGKILL after ``leftover_timeout`` seconds.
    """
    proc = _start(cmd, env)
    tree = _Tree(proc.pid)
    companions = [_Sidecar(c, env, tree) for c in sidecars]
    asked: list[float] = []

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        asked.append(time.monotonic())
        if len(asked) == 1:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            for sidecar in companions:
                sidecar.stop()
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
            if not asked:
                for sidecar in companions:
                    sidecar.check()
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
