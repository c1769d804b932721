"""Open-loop constant-rate HTTP load on one endpoint, run as its own process.

Request i is due at ``start + i / rate`` and is sent then whether or not earlier ones have
answered (a slow server does not slow the arrivals: no coordinated omission). Its latency
is measured from that scheduled time, not from when it was actually sent, so a stall of
the client's own event loop or of the server counts against the figures, as a waiting
user would feel it. Bounded: ``rate * duration`` requests, each with a timeout; loopback
only.

    python bench/loadgen.py --url http://127.0.0.1:PORT/profile --rate 100 --duration 60 \\
        --bodies bodies.json --out results.jsonl [--keep model_versions,ts]

``bodies.json`` is a JSON list; request i sends ``bodies[i % len(bodies)]``. Each line of
``--out`` is one request: ``i``, ``due`` (seconds after start), ``status`` (HTTP status;
0 = connection error, -1 = timeout), ``latency_ms`` (from the due time), ``sent_late_ms``
and the ``--keep`` fields of a JSON answer. The first line written is ``{"start": t}``
with the wall-clock start (``time.time()``), so other processes can line events up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


async def _one(
    client: httpx.AsyncClient,
    url: str,
    body: Any,
    i: int,
    due: float,
    t0: float,
    keep: list[str],
) -> dict[str, Any]:
    sent = time.perf_counter()
    record: dict[str, Any] = {"i": i, "due": round(due - t0, 4)}
    record["sent_late_ms"] = round((sent - due) * 1000, 3)
    try:
        response = await client.post(url, json=body)
        record["status"] = response.status_code
        if keep and response.headers.get("content-type", "").startswith("application/json"):
            answer = response.json()
            if isinstance(answer, dict):
                record.update({k: answer[k] for k in keep if k in answer})
    except httpx.TimeoutException:
        record["status"] = -1
    except httpx.HTTPError as exc:
        record["status"] = 0
        record["error"] = type(exc).__name__
    record["latency_ms"] = round((time.perf_counter() - due) * 1000, 3)
    return record


async def run(
    url: str, rate: float, duration: float, bodies: list[Any], timeout: float, keep: list[str]
) -> tuple[float, list[dict[str, Any]]]:
    """Send ``rate * duration`` requests on schedule; the wall-clock start and the records."""
    n = int(rate * duration)
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        wall = time.time()
        t0 = time.perf_counter() + 0.05
        tasks: dict[asyncio.Task[dict[str, Any]], tuple[int, float]] = {}
        for i in range(n):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = bodies[i % len(bodies)]
            task = asyncio.create_task(_one(client, url, body, i, due, t0, keep))
            tasks[task] = (i, due)
        # httpx's timeout is per phase (connect, write, read), not per request: a hard
        # deadline keeps the run bounded; what is unanswered then counts as a timeout
        deadline = t0 + duration + 2 * timeout + 5
        done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()))
        records = [t.result() for t in done]
        now = time.perf_counter()
        for task in pending:
            task.cancel()
            i, due = tasks[task]
            latency = round((now - due) * 1000, 3)
            records.append(
                {
                    "i": i,
                    "due": round(due - t0, 4),
                    "status": -1,
                    "latency_ms": latency,
                    "sent_late_ms": None,
                    "error": "unanswered at the run's deadline",
                }
            )
        records.sort(key=lambda r: int(r["i"]))
    return wall, records


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
    wall, records = asyncio.run(run(args.url, args.rate, args.duration, bodies, args.timeout, keep))
    with args.out.open("w") as out:
        out.write(json.dumps({"start": wall}) + "\n")
        out.writelines(json.dumps(r) + "\n" for r in records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
