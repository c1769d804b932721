"""``kill -9`` of the service's worker under a constant open-loop load on loopback.

    .venv/bin/python bench/worker_kill.py --home CINTEL_HOME [--rate 100] [--seconds 30]
        [--kill-at 8] [--json bench/results/worker_kill.json]

Starts ``cintel serve`` on a free 127.0.0.1 port, sends ``POST /profile`` at a fixed
arrival rate (requests leave on schedule whether or not earlier ones were answered:
queueing shows up as waiting, not as a lower rate) for ``--warmup`` seconds not counted,
then for ``--seconds`` more, killing one BentoML worker (or ``--kill all``) with SIGKILL
at ``--kill-at`` seconds, and stops the service with SIGTERM.
Prints and (with ``--json``) writes: requests, non-2xx by kind, longest wait, seconds from
the kill to the first 200 of a request sent after it, seconds until latency is normal
again, and the p50/p99 before the kill. Bounded: ``rate × seconds`` requests, each with a
client timeout, to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
WORKER_MARK = "_bentoml_impl.worker"


@dataclass(frozen=True)
class Shot:
    sent: float  # seconds since the load started
    wait: float  # seconds until the answer (or the error)
    status: int  # HTTP status; 0 for a connection error or client timeout
    error: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Pool:
    """Keep-alive HTTP/1.1 connections to one loopback port (a minimal client: cheap on CPU,
    so the load generator does not starve the server on a 2-core box)."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> int:
        conn = self.idle.pop() if self.idle else None
        if conn is None:
            conn = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = conn
        try:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            ).encode()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionResetError("connection closed before the answer")
            status = int(status_line.split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        self.idle.append(conn)
        return status


async def _shoot(pool: Pool, body: bytes, started: float, out: list[Shot]) -> None:
    sent = time.perf_counter()
    try:
        status = await asyncio.wait_for(pool.post("/profile", body), pool.timeout)
        out.append(Shot(sent - started, time.perf_counter() - sent, status))
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
        out.append(Shot(sent - started, time.perf_counter() - sent, 0, type(exc).__name__))


def workers_of(pid: int) -> list[psutil.Process]:
    """The BentoML worker processes under ``pid`` (the ``cintel serve`` process)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if any(WORKER_MARK in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


async def load(
    port: int,
    ids: list[str],
    rate: float,
    seconds: float,
    kill_at: float,
    serve_pid: int,
    kill_all: bool,
) -> tuple[list[Shot], float, list[int]]:
    """The open-loop load; returns the shots, when the workers were killed and their pids."""
    pool = Pool(port, timeout=30.0)
    rng = random.Random(0)
    shots: list[Shot] = []
    tasks = []
    started = time.perf_counter()
    killed_at, killed = -1.0, []
    for i in range(int(rate * seconds)):
        due = started + i / rate
        if killed_at < 0 and due - started >= kill_at:
            for proc in workers_of(serve_pid)[: None if kill_all else 1]:
                proc.send_signal(signal.SIGKILL)
                killed.append(proc.pid)
            killed_at = time.perf_counter() - started
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        body = json.dumps({"customer_id": rng.choice(ids), "channel": "web"}).encode()
        tasks.append(asyncio.create_task(_shoot(pool, body, started, shots)))
    await asyncio.gather(*tasks)
    return sorted(shots, key=lambda s: s.sent), killed_at, killed


def summarize(shots: list[Shot], killed_at: float, rate: float) -> dict[str, float | int | dict]:
    """The figures: errors, longest wait, recovery and back-to-normal times."""
    before = sorted(s.wait for s in shots if s.sent + s.wait < killed_at and s.status == 200)
    p50 = before[len(before) // 2] if before else float("nan")
    p99 = before[int(len(before) * 0.99) - 1] if before else float("nan")
    after = [s for s in shots if s.sent >= killed_at]
    first_ok = next((s for s in after if s.status == 200), None)
    normal = max(0.020, 3 * p99)
    abnormal = [
        s for s in shots if s.sent + s.wait >= killed_at and (s.status != 200 or s.wait > normal)
    ]
    kinds: dict[str, int] = {}
    for s in shots:
        if s.status != 200:
            key = str(s.status) if s.status else s.error
            kinds[key] = kinds.get(key, 0) + 1
    return {
        "rate_per_s": rate,
        "requests": len(shots),
        "non_2xx": sum(s.status != 200 for s in shots),
        "non_2xx_by_kind": kinds,
        "p50_ms_before_kill": round(p50 * 1000, 2),
        "p99_ms_before_kill": round(p99 * 1000, 2),
        "longest_wait_s": round(max(s.wait for s in shots), 3),
        "waits_over_2s": sum(s.wait > 2.0 for s in shots),
        "first_200_after_kill_s": (
            round(first_ok.sent + first_ok.wait - killed_at, 3) if first_ok else float("nan")
        ),
        "normal_latency_after_kill_s": (
            round(max(s.sent + s.wait for s in abnormal) - killed_at, 3) if abnormal else 0.0
        ),
        "normal_means_under_ms": round(normal * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="trained, materialized home")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--kill-at", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load first")
    parser.add_argument("--kill", choices=["one", "all"], default="one", help="workers")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--serve-arg", action="append", default=[], help="extra serve args")
    args = parser.parse_args()

    import pandas as pd

    ids = pd.read_parquet(args.home / "store" / "profiles.parquet")["customer_id"].astype(str)
    port = _free_port()
    env = {**os.environ, "CINTEL_HOME": str(args.home.resolve()), "PYTHONPATH": str(REPO)}
    env.pop("CINTEL_API_KEY", None)
    cintel = str(Path(sys.executable).parent / "cintel")
    log = open(Path("/tmp") / f"worker-kill-{port}.log", "wb")  # noqa: SIM115
    serve = subprocess.Popen(
        [cintel, "serve", "--port", str(port), *args.serve_arg],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if b" 200 " in s.recv(100):
                        break
            except OSError:
                pass
            if serve.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cintel serve did not become ready; see {log.name}")
            time.sleep(0.3)
        if args.warmup > 0:
            asyncio.run(load(port, ids.tolist(), args.rate, args.warmup, 1e9, serve.pid, False))
        shots, killed_at, killed = asyncio.run(
            load(
                port,
                ids.tolist(),
                args.rate,
                args.seconds,
                args.kill_at,
                serve.pid,
                args.kill == "all",
            )
        )
    finally:
        tree = psutil.Process(serve.pid).children(recursive=True)
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
        for proc in tree:  # what an older `cintel serve` left behind on SIGTERM
            if proc.is_running():
                proc.kill()
        log.close()
    figures = {"killed_workers": len(killed), **summarize(shots, killed_at, args.rate)}
    for key, value in figures.items():
        print(f"{key:<30} {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**figures, "shots": [asdict(s) for s in shots]}))


if __name__ == "__main__":
    main()
