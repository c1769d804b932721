"""The system under test for ``bench/reliability.py``, driven only from outside.

A throw-away ``CINTEL_HOME`` (and ``BENTOML_HOME``) under /tmp, the real ``cintel``
commands as subprocesses with this tree first on ``PYTHONPATH``, and ``cintel serve`` on a
random loopback port. Nothing here imports cintel: the harness sees what a user sees
(exit codes, output, HTTP answers, files under the home).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
WORKER_MARK = "_bentoml_impl.worker"


def free_port() -> int:
    """A free loopback port in 20000-40000 (random, so parallel runs rarely collide)."""
    for _ in range(200):
        port = random.randint(20000, 40000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-40000")


def tree(pid: int) -> list[psutil.Process]:
    """The process and every descendant still attached to it."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            continue
    return out


def stop_tree(pid: int, grace: float = 15.0) -> list[str]:
    """SIGTERM the process as a user's Ctrl-C would, wait up to ``grace`` s, then end
    every descendant it left behind (by pid) and return what had to be killed."""
    procs = tree(pid)  # collected first: a re-parented child is no longer found from pid
    if not procs:
        return []
    with contextlib.suppress(psutil.NoSuchProcess):
        procs[0].send_signal(signal.SIGTERM)
    _, left = psutil.wait_procs(procs, timeout=grace)
    survivors = [f"{p.pid} {' '.join(p.cmdline()[:4])}" for p in alive(left)]
    for p in alive(left):
        p.terminate()
    _, left = psutil.wait_procs(alive(left), timeout=5)
    for p in alive(left):
        p.kill()
    psutil.wait_procs(alive(left), timeout=5)
    return survivors


@dataclass(frozen=True)
class Done:
    """A finished command: exit code, combined output, wall seconds."""

    args: tuple[str, ...]
    rc: int
    output: str
    seconds: float


class Server:
    """A running ``cintel serve``: its process, port and log."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self.stop_survivors: list[str] | None = None

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        if body is None and "content" not in kw:
            body = {}
        if "content" in kw:
            return self.http.post(path, **kw)
        return self.http.post(path, json=body, **kw)

    def ready(self) -> bool:
        try:
            return self.http.get("/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds until /readyz answers 200; RuntimeError with the log tail if never."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                break
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.25)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"cintel serve not ready within {timeout:.0f} s:\n{tail}")

    def status(self) -> dict[str, Any]:
        return dict(self.post("/status", {}).json())

    def workers(self) -> list[psutil.Process]:
        """The BentoML worker processes (they start their own sessions, so they are found
        among the descendants, not by process group)."""
        found = []
        for p in tree(self.proc.pid)[1:]:
            try:
                if any(WORKER_MARK in part for part in p.cmdline()):
                    found.append(p)
            except psutil.NoSuchProcess:
                continue
        return found

    def metrics(self) -> str:
        return self.http.get("/metrics").text

    def stop(self) -> list[str]:
        """Stop the whole tree; what survived a plain SIGTERM to ``cintel serve``."""
        self.http.close()
        if self.stop_survivors is None:
            self.stop_survivors = stop_tree(self.proc.pid)
        return self.stop_survivors


class System:
    """One throw-away cintel installation under /tmp, driven by its commands."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="cintel-reliability-"))
        self.home = self.root / "home"
        self.data = self.root / "data"
        self.bentoml_home = self.root / "bentoml"
        self.logs = self.root / "logs"
        for folder in (self.home, self.bentoml_home, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        self._n = 0
        self.servers: list[Server] = []
        self.background: list[subprocess.Popen[bytes]] = []
        self._started: dict[int, float] = {}

    @property
    def sqlite_uri(self) -> str:
        return f"sqlite:///{self.home / 'mlflow' / 'mlflow.db'}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("CINTEL_API_KEY", "MLFLOW_TRACKING_URI", "CINTEL_STORE"):
            env.pop(name, None)
        env.update(
            CINTEL_HOME=str(self.home),
            BENTOML_HOME=str(self.bentoml_home),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            MLFLOW_TRACKING_URI=self.sqlite_uri,
            BENTOML_DO_NOT_TRACK="true",
            NO_COLOR="1",
            COLUMNS="160",
        )
        env.update(extra)
        return env

    @staticmethod
    def command(*args: str) -> list[str]:
        """``cintel ARGS`` from this interpreter's environment (this tree's code first)."""
        script = Path(sys.executable).parent / "cintel"
        if script.exists():
            return [str(script), *args]
        return [sys.executable, "-c", "from monitoring.entry import main; main()", *args]

    def _log(self, name: str) -> Path:
        self._n += 1
        return self.logs / f"{self._n:02d}-{name}.log"

    def start(self, *args: str, name: str | None = None, **env: str) -> tuple[Any, Path]:
        """``cintel ARGS`` in the background; (process, log file)."""
        log = self._log(name or args[0])
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.command(*args),
                cwd=self.root,
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.background.append(proc)
        self._started[proc.pid] = time.monotonic()
        return proc, log

    def finish(self, proc: Any, log: Path, timeout: float = 900.0) -> Done:
        """Wait for a started command (ended by pid after ``timeout`` s)."""
        started = self._started.get(proc.pid, time.monotonic())
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_tree(proc.pid, grace=5)
        return Done(
            tuple(proc.args),
            proc.returncode if proc.returncode is not None else -9,
            log.read_text(errors="replace"),
            time.monotonic() - started,
        )

    def run(self, *args: str, timeout: float = 900.0, **env: str) -> Done:
        proc, log = self.start(*args, **env)
        return self.finish(proc, log, timeout)

    def setup(self, customers: int, seed: int = 5) -> list[Done]:
        """synth -> train -> materialize, each checked."""
        steps = [
            (
                "synth",
                "--out",
                str(self.data),
                "--customers",
                str(customers),
                "--end",
                "2025-06-30",
                "--seed",
                str(seed),
            ),
            ("train", "--data", str(self.data)),
            ("materialize", "--data", str(self.data)),
        ]
        done = []
        for step in steps:
            result = self.run(*step)
            done.append(result)
            if result.rc != 0:
                raise RuntimeError(f"cintel {step[0]} failed ({result.rc}):\n{result.output}")
        return done

    def serve(self, poll_seconds: float = 2.0, **env: str) -> Server:
        port = free_port()
        log = self._log("serve")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.command("serve", "--port", str(port), "--poll-seconds", str(poll_seconds)),
                cwd=self.root,
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = Server(proc, port, log)
        self.servers.append(server)
        server.wait_ready()
        return server

    def customer_ids(self) -> list[str]:
        import pandas as pd

        ids = pd.read_parquet(self.data / "customers.parquet", columns=["customer_id"])
        return [str(c) for c in ids["customer_id"]]

    def log_files(self) -> list[Path]:
        """Every file a log could be in: the commands' and the server's output, and
        everything the service and BentoML wrote under their homes."""
        roots = (self.logs, self.home, self.bentoml_home)
        return sorted(p for r in roots for p in r.rglob("*") if p.is_file())

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for proc in self.background:
            if proc.poll() is None:
                stop_tree(proc.pid, grace=5)


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(step)
    return False
