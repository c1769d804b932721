"""In process: CPU per request of the service's ASGI stack, fast route on and off, interleaved.

    .venv/bin/python bench/bench_fast_route.py --home CINTEL_HOME [--rounds 6] [--requests 2000]

Builds the service's ASGI app (BentoML's middlewares, with BentoML's tracing excluded as
``cintel serve`` configures it, the guard, the routes) and calls it directly, without a
server or sockets, with ``POST /profile`` bodies of random known customers and
``POST /profiles`` with 100 of them; rounds alternate ``CINTEL_FAST_ROUTE=on`` and ``off``
in one process, so both see the same machine state. Prints the CPU time per request
(``time.process_time``: what the other engineers' load does not inflate as much as wall
time) and the ratio, median over rounds. uvicorn's share (HTTP parsing, the socket) is not
in it: ``bench/bench_service.py`` measures over HTTP.
"""

from __future__ import annotations

from runenv import pin_threads

pin_threads()

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any


def _scope(path: str, body: bytes) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 3000)}  # fmt: skip


async def _call(app: Any, path: str, body: bytes) -> int:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(path, body), receive, send)
    return status


async def _run(app: Any, home: Path, rounds: int, requests: int) -> dict[str, list[float]]:
    import pandas as pd

    from serving.settings import get_service_settings

    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    life = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                     inbox.get, outbox.put))  # fmt: skip
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    ids = pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].astype(str).tolist()
    rng = random.Random(0)
    one = [json.dumps({"customer_id": c}).encode() for c in rng.sample(ids, min(5000, len(ids)))]
    many = [json.dumps({"customer_ids": rng.sample(ids, 100)}).encode() for _ in range(200)]
    for k in range(0, len(ids), 1000):  # every customer prepared first
        await _call(app, "/profiles", json.dumps({"customer_ids": ids[k : k + 1000]}).encode())
    out: dict[str, list[float]] = {}
    for r in range(rounds):
        for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
            os.environ["CINTEL_FAST_ROUTE"] = mode
            get_service_settings.cache_clear()
            for path, bodies, n in (
                ("/profile", one, requests),
                ("/profiles", many, requests // 20),
            ):
                t0 = time.process_time()
                for i in range(n):
                    status = await _call(app, path, bodies[i % len(bodies)])
                    assert status == 200, (path, status)
                out.setdefault(f"{path} {mode}", []).append((time.process_time() - t0) / n * 1e6)
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await life
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=2000, help="/profile calls per round")
    args = parser.parse_args()
    home = args.home.resolve()
    # what `cintel serve` passes BentoML: no span per request, no access log
    cintel = {"tracing": {"excluded_urls": [".*"]}, "logging": {"access": {"enabled": False}}}
    os.environ.update(
        CINTEL_HOME=str(home),
        CINTEL_POLL_SECONDS="0",
        MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        BENTOML_CONFIG_OVERRIDES=json.dumps({"services": {"cintel": cintel}}),
    )
    from serving.service import Cintel

    app = Cintel.to_asgi()  # type: ignore[attr-defined]
    out = asyncio.run(_run(app, home, args.rounds, args.requests))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for path, per in (("/profile", 1), ("/profiles", 100)):
        on, off = out[f"{path} on"], out[f"{path} off"]
        ratios = [b / a for a, b in zip(on, off, strict=True)]
        print(f"{path}: CPU per request fast route {statistics.median(on):.1f} us, BentoML's "
              f"route {statistics.median(off):.1f} us: off/on {statistics.median(ratios):.2f}x"
              f" (rounds {', '.join(f'{x:.2f}' for x in ratios)}); "
              f"{per * 1e6 / statistics.median(on):,.0f} customers/s of CPU on")  # fmt: skip


if __name__ == "__main__":
    main()
