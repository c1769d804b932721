"""`run_supervised` stops the whole process tree it started, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]

# A server-like child: it starts a "worker" in a session of its own (as BentoML's circus
# does), writes both pids, and on SIGTERM takes DRAIN_S to finish before exiting -- without
# stopping its worker, so the supervisor has to find and stop that orphan itself.
CHILD = """
import os, signal, subprocess, sys, time
role, folder, mode = sys.argv[1], sys.argv[2], sys.argv[3]
def on_term(signum, frame):
    open(os.path.join(folder, role + ".got"), "w").write(str(signum))
    if mode == "ignore":
        return
    time.sleep(0.5)  # requests in flight finish
    open(os.path.join(folder, role + ".drained"), "w").write("ok")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
if role == "server":
    worker = subprocess.Popen(
        [sys.executable, __file__, "worker", folder, mode], start_new_session=True
    )
    open(os.path.join(folder, "pids"), "w").write(f"{os.getpid()} {worker.pid}")
    if mode == "exit":
        time.sleep(0.5)
        sys.exit(3)
while True:
    time.sleep(0.1)
"""

HARNESS = (
    "import sys; from training.cli.supervise import run_supervised; "
    "sys.exit(run_supervised(sys.argv[2:], stop_timeout=float(sys.argv[1])))"
)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for(path: Path, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path.name} not written within {timeout} s")


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    """Start the harness (run_supervised on the CHILD script); kill leftovers after."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    started: list[subprocess.Popen[bytes]] = []

    def run(mode: str, stop_timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], int, int]:
        cmd = [sys.executable, str(script), "server", str(tmp_path), mode]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        harness = subprocess.Popen(
            [sys.executable, "-c", HARNESS, str(stop_timeout), *cmd], env=env
        )
        started.append(harness)
        server, worker = map(int, _wait_for(tmp_path / "pids").split())
        return harness, server, worker

    yield run
    for harness in started:
        if harness.poll() is None:
            harness.kill()
    if (tmp_path / "pids").exists():
        for pid in map(int, (tmp_path / "pids").read_text().split()):
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_drains_the_child_and_stops_its_orphaned_worker(
    start, tmp_path: Path, sig: int
) -> None:
    harness, server, worker = start("drain")
    time.sleep(0.5)  # the supervisor has seen the worker
    started = time.monotonic()
    harness.send_signal(sig)
    assert harness.wait(timeout=15) == 0
    assert time.monotonic() - started < 5
    # the child was asked once, with SIGTERM (Ctrl-C is forwarded as SIGTERM), and drained
    assert (tmp_path / "server.got").read_text() == str(int(signal.SIGTERM))
    assert (tmp_path / "server.drained").exists()
    # the worker it left behind was found and stopped gracefully too
    assert (tmp_path / "worker.drained").exists()
    assert _gone(server) and _gone(worker)


def test_a_tree_that_ignores_sigterm_is_killed_after_the_timeout(start, tmp_path: Path) -> None:
    harness, server, worker = start("ignore", stop_timeout=1.0)
    time.sleep(0.5)
    started = time.monotonic()
    harness.send_signal(signal.SIGTERM)
    assert harness.wait(timeout=15) == 1  # killed: not a clean stop
    assert time.monotonic() - started < 4
    assert (tmp_path / "server.got").exists()
    assert _gone(server) and _gone(worker)


def test_the_orphans_of_a_child_that_exits_by_itself_are_stopped(start, tmp_path: Path) -> None:
    harness, server, worker = start("exit")
    assert harness.wait(timeout=15) == 3  # the child's own exit code
    assert (tmp_path / "worker.drained").exists()
    assert _gone(server) and _gone(worker)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_is_told_to_stop_when_the_supervisor_is_killed(start, tmp_path: Path) -> None:
    harness, server, _worker = start("drain")
    harness.kill()  # SIGKILL: no handler runs
    harness.wait(timeout=5)
    assert _wait_for(tmp_path / "server.got", timeout=5) == str(int(signal.SIGTERM))
    deadline = time.monotonic() + 5
    while not _gone(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(server)
