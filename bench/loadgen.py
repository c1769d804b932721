"""Open-loop constant-rate HTTP load on one endpoint, run as its own process.

Request i is due at ``start + i / rate`` and is sent then whether or not earlier ones have
answered (a slow server does not slow the arrivals: no coordinated omission). Its latency
is measured from that scheduled time, not from when it was actually sent, so a stall of
the client's own event loop or of the server counts against the figures, as a waiting
user would feel it. Bounded: ``rate * duration`` requests, each with a total timeout; loopback
only.

    python bench/loadgen.py --url http://127.0.0.1:PORT/profile --rate 100 --duration 60 \\
        --bodies bodies.json --out results.jsonl [--keep model_versions,ts]

``bodies.json`` is a JSON list; request i sends ``bodies[i % len(bodies)]``. Each line of
``--out`` is one request: ``i``, ``due`` (seconds after start), ``status`` (HTTP status;
0 = connection error, -1 = timeout), ``latency_ms`` (from the due time), ``sent_late_ms``
and the ``--keep`` fields of a JSON answer. The first line is the run's header: ``start``
(wall-clock, ``time.time()``, so other processes can line events up),
``connections_opened`` and ``stale_retried``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Pool:
    """Keep-alive HTTP/1.1 connections to one host: a free one is reused, else a new one is
    opened (open-loop: a request never waits for a connection to free up). Plain asyncio
    streams, a few tens of microseconds per request, so the client does not fall behind
    its schedule on a busy machine the way a full-featured client does.

    Like any keep-alive client it must not blame the server for its own stale connections:
    one idle longer than ``MAX_IDLE_S`` (the server closes idle ones after 5 s) or already
    closed is dropped before use, and a request whose reused connection turns out closed
    before a single byte of answer is sent once more on a new connection (``retried``)."""

    MAX_IDLE_S = 2.0

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.retried = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if reader.at_eof() or writer.is_closing() or time.monotonic() - since > self.MAX_IDLE_S:
                writer.close()
                continue
            return reader, writer, True
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return reader, writer, False

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        reader, writer, reused = await self._connection()
        try:
            return await self._exchange(reader, writer, path, body)
        except _StaleConnection:
            if not reused:
                raise ConnectionError("connection closed before the answer") from None
            self.retried += 1
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
            try:
                return await self._exchange(reader, writer, path, body)
            except _StaleConnection:
                raise ConnectionError("connection closed before the answer") from None

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes
    ) -> tuple[int, bytes]:
        try:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            try:
                writer.write(head.encode() + body)
                await writer.drain()
                status_line = await reader.readline()
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise _StaleConnection from exc
            if not status_line:
                raise _StaleConnection
            status = int(status_line.split()[1])
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                payload = b""
                while size := int((await reader.readline()).strip() or b"0", 16):
                    payload += (await reader.readexactly(size + 2))[:-2]
                await reader.readline()
            else:
                payload = await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


class _StaleConnection(Exception):
    """The connection was closed before any byte of the answer arrived."""


async def _one(
    pool: Pool,
    path: str,
    body: bytes,
    i: int,
    due: float,
    t0: float,
    timeout: float,
    keep: list[str],
) -> dict[str, Any]:
    sent = time.perf_counter()
    record: dict[str, Any] = {"i": i, "due": round(due - t0, 4)}
    record["sent_late_ms"] = round((sent - due) * 1000, 3)
    try:
        status, payload = await asyncio.wait_for(pool.post(path, body), timeout)
        record["status"] = status
        if keep and payload[:1] == b"{":
            answer = json.loads(payload)
            record.update({k: answer[k] for k in keep if k in answer})
    except TimeoutError:
        record["status"] = -1
    except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
        record["status"] = 0
        record["error"] = type(exc).__name__
    record["latency_ms"] = round((time.perf_counter() - due) * 1000, 3)
    return record


async def run(
    url: str, rate: float, duration: float, bodies: list[Any], timeout: float, keep: list[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send ``rate * duration`` requests on schedule; the run's header (wall-clock start,
    connections) and the records.
    Each request has a total timeout (connect, send and answer together)."""
    parts = urlsplit(url)
    pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80)
    encoded = [json.dumps(b).encode() for b in bodies]
    n = int(rate * duration)
    wall = time.time()
    # no cyclic collections while the run builds up its tasks and records (a bounded run:
    # at most 1.2 M): a full collection over them holds this client's loop, and what it
    # then sends late counts against the server (the runs' ``sent_late_ms`` show it)
    gc.collect()
    gc.disable()
    t0 = time.perf_counter() + 0.05
    tasks: list[asyncio.Task[dict[str, Any]]] = []
    try:
        for i in range(n):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = encoded[i % len(encoded)]
            task = _one(pool, parts.path, body, i, due, t0, timeout, keep)
            tasks.append(asyncio.create_task(task))
        records = list(await asyncio.gather(*tasks))
    finally:
        gc.enable()
    pool.close()
    stats = {"start": wall, "connections_opened": pool.opened, "stale_retried": pool.retried}
    return stats, records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--bodies", type=Path, required=True, help="JSON list of bodies")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--keep", default="", help="answer fields to record, comma-separated")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK:
        parser.error(f"--url must be on the loopback interface, not {host!r}")
    if not 0 < args.rate <= 2000 or not 0 < args.duration <= 600:
        parser.error("--rate must be in (0, 2000] and --duration in (0, 600]")
    bodies = json.loads(args.bodies.read_text())
    keep = [k for k in args.keep.split(",") if k]
    head, records = asyncio.run(run(args.url, args.rate, args.duration, bodies, args.timeout, keep))
    with args.out.open("w") as out:
        out.write(json.dumps(head) + "\n")
        out.writelines(json.dumps(r) + "\n" for r in records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
