"""`cintel serve` as a user runs it: the key stays out of `ps`, a stop stops every process,
and a killed worker does not stop the service answering."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from monitoring.entry import cli
from training.data.contract import CleanData

REPO = Path(__file__).resolve().parents[2]
CINTEL = str(Path(sys.executable).parent / "cintel")
KEY = "k3y-that-must-not-show-in-ps"
WORKER_MARK = "_bentoml_impl.worker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _running(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def _workers(pid: int) -> list[psutil.Process]:
    found = []
    for proc in _running(_tree(pid)):
        try:
            if any(WORKER_MARK in part for part in proc.cmdline()):
                found.append(proc)
        except psutil.NoSuchProcess:  # also a zombie: killed, not yet reaped
            continue
    return found


Start = Callable[..., tuple[subprocess.Popen[bytes], int, Path]]


@pytest.fixture
def start_serve(trained_home: tuple[Path, CleanData], tmp_path: Path) -> Iterator[Start]:
    """Start `cintel serve ARGS` on a free port; wait for /readyz; kill whatever is left after."""
    home, _ = trained_home
    started: list[tuple[subprocess.Popen[bytes], list[psutil.Process]]] = []

    def start(
        *args: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], int, Path]:
        port = _free_port()
        log = tmp_path / f"serve-{port}.log"
        base = {
            **os.environ,
            "CINTEL_HOME": str(home),
            "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
            "CINTEL_POLL_SECONDS": "0",
            "PYTHONPATH": str(REPO),
        }
        base.pop("CINTEL_API_KEY", None)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [CINTEL, "serve", "--port", str(port), *args],
                cwd=REPO,
                env={**base, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        seen: list[psutil.Process] = []
        started.append((proc, seen))
        deadline = time.monotonic() + 120
        while True:
            seen.extend(p for p in _tree(proc.pid) if p.pid not in {s.pid for s in seen})
            if proc.poll() is not None:
                pytest.fail(f"cintel serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        seen.extend(p for p in _tree(proc.pid) if p.pid not in {s.pid for s in seen})
        return proc, port, log

    yield start
    for proc, seen in started:
        # what runs now too: a worker started in place of a killed one was not seen at start
        seen.extend(p for p in _tree(proc.pid) if p.pid not in {s.pid for s in seen})
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for left in _running(seen):
            left.kill()


def test_an_unreadable_api_key_file_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-key"
    result = CliRunner().invoke(cli, ["serve", "--api-key-file", str(missing)])
    assert result.exit_code == 1
    assert str(missing) in result.output and "cannot read" in result.output
    empty = tmp_path / "empty-key"
    empty.write_text("\n")
    result = CliRunner().invoke(cli, ["serve", "--api-key-file", str(empty)])
    assert result.exit_code == 1 and "empty" in result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "sig"),
    [("file", signal.SIGTERM), ("option", signal.SIGINT), ("env", signal.SIGTERM)],
    ids=["key-file-SIGTERM", "key-option-SIGINT", "key-env-SIGTERM"],
)
def test_a_stopped_serve_stops_every_process_and_frees_the_port(
    start_serve: Start, tmp_path: Path, how: str, sig: int
) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text(KEY + "\n")
    args, env = {
        "file": (["--api-key-file", str(key_file)], {}),
        "option": (["--api-key", KEY], {}),
        "env": ([], {"CINTEL_API_KEY": KEY}),
    }[how]
    proc, port, log = start_serve("--workers", "2", *args, env=env)
    tree = _running(_tree(proc.pid))
    assert len(_workers(proc.pid)) == 2
    # the key is in no process's command line but (with --api-key, as warned) cintel's own
    for child in tree:
        assert KEY not in " ".join(child.cmdline()), child.cmdline()
    assert (KEY in " ".join(psutil.Process(proc.pid).cmdline())) == (how == "option")
    assert ("visible to every user" in log.read_text()) == (how == "option")
    url = f"http://127.0.0.1:{port}/status"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers={"X-API-Key": KEY}).status_code == 200

    started = time.monotonic()
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == 0
    deadline = time.monotonic() + 5
    while _running(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(tree), [p.cmdline() for p in _running(tree)]
    assert _port_is_free(port)
    assert time.monotonic() - started < 10


async def _open_loop(
    port: int, ids: list[str], rate: float, seconds: float
) -> list[tuple[float, float, int]]:
    """``rate`` /profile requests a second, sent on schedule; (sent, wait, status) each."""
    out: list[tuple[float, float, int]] = []
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=20)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=10, limits=limits
    ) as client:

        async def one(i: int) -> None:
            sent = time.perf_counter()
            try:
                r = await client.post("/profile", json={"customer_id": ids[i % len(ids)]})
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            out.append((sent - started, time.perf_counter() - sent, status))

        tasks = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return out


@pytest.mark.slow
def test_a_killed_worker_never_makes_a_request_wait_and_is_replaced(
    start_serve: Start, trained_home: tuple[Path, CleanData]
) -> None:
    home, _ = trained_home
    ids = pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].astype(str).tolist()
    proc, port, _log = start_serve("--workers", "2")
    asyncio.run(_open_loop(port, ids, 50, 2))  # warm both workers
    victim = _workers(proc.pid)[0]

    async def kill_during_load() -> list[tuple[float, float, int]]:
        load = asyncio.create_task(_open_loop(port, ids, 50, 8))
        await asyncio.sleep(2)
        victim.kill()
        return await load

    shots = asyncio.run(kill_during_load())
    after = [s for s in shots if s[0] >= 2.5]
    assert max(wait for _sent, wait, _status in shots) < 2.0
    assert all(status == 200 for _sent, _wait, status in after)
    # only requests on the killed worker's connections may fail, and only at the kill
    assert sum(status != 200 for *_x, status in shots) <= 15
    deadline = time.monotonic() + 30
    while len(_workers(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert victim.pid not in {w.pid for w in _workers(proc.pid)}
    assert len(_workers(proc.pid)) == 2
    # a stop stops the replacement too (and the event updater): nothing is left running
    tree = _running(_tree(proc.pid))
    proc.terminate()
    assert proc.wait(timeout=20) == 0
    deadline = time.monotonic() + 5
    while _running(tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(tree), [p.cmdline() for p in _running(tree)]
