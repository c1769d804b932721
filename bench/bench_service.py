"""Load test on loopback: cintel /profile and /profiles vs bare BentoML and FastAPI baselines.

    .venv/bin/python bench/bench_service.py [--home CINTEL_HOME] [--customers 20000]

Each server runs alone (``bentoml serve`` / ``uvicorn``, one worker) while keep-alive
``http.client`` threads drive it; the request count and the time per phase are bounded.
Without ``--home`` it builds one (synth, train, materialize) under a temporary folder.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
Body = Callable[[int], bytes]


@dataclass
class Phase:
    name: str
    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    items_per_request: int = 1

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def items_per_s(self) -> float:
        return self.rps * self.items_per_request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


@contextmanager
def running(cmd: list[str], env: dict[str, str], port: int, probe: Callable[[], bool]) -> Iterator:
    """Start a server in its own process group, wait until ``probe`` passes, kill it after;
    yields the process (its pid is the group's id)."""
    log = open(Path(tempfile.gettempdir()) / f"bench-serve-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}; see {log.name}")
            try:
                if probe():
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{cmd[:4]} not ready in 180 s; see {log.name}")
            time.sleep(0.5)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def drive(
    port: int, path: str, body: Body, clients: int, n: int, max_s: float, name: str, items: int = 1
) -> Phase:
    """``n`` requests (or ``max_s`` seconds) from ``clients`` keep-alive threads."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    counter = iter(range(n))
    lock = threading.Lock()
    stop_at = time.perf_counter() + max_s
    errors: list[str] = []

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out = latencies[k]
        while time.perf_counter() < stop_at:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            payload = body(i)
            t0 = time.perf_counter()
            status, data = _post(conn, path, payload)
            out.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(f"{status}: {data[:200]!r}")
                break
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{name}: {errors[0]}")
    lat = sorted(x for part in latencies for x in part)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return Phase(name, clients, len(lat), elapsed, q[49] * 1000, q[98] * 1000, items)


def run_suite(
    port: int, path: str, body: Body, label: str, n_seq: int, n_conc: int, max_s: float
) -> list[Phase]:
    drive(port, path, body, 4, 200, 10, "warm-up")
    phases = [drive(port, path, body, 1, n_seq, max_s, f"{label} seq")]
    for clients in (8, 32):
        phases.append(drive(port, path, body, clients, n_conc, max_s, f"{label} x{clients}"))
    return phases


def build_home(root: Path, customers: int) -> Path:
    """synth -> train -> materialize with the CLI, as a user would."""
    home, data = root / ".cintel", root / "data"
    env = {**os.environ, "CINTEL_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    cintel = [sys.executable, "-m", "monitoring.entry"]
    steps = [
        ["synth", "--customers", str(customers), "--out", str(data)],
        ["train", "--data", str(data)],
        ["materialize", "--data", str(data)],
    ]
    for step in steps:
        print("cintel", " ".join(step), flush=True)
        subprocess.run([*cintel, *step], cwd=REPO, env=env, check=True)
    return home


def bench(home: Path, n_seq: int, n_conc: int, max_s: float, batch: int) -> list[Phase]:
    import pandas as pd

    ids = pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].astype(str).tolist()
    rng = random.Random(0)
    env = {**os.environ, "CINTEL_HOME": str(home), "CINTEL_POLL_SECONDS": "0"}
    env.pop("CINTEL_API_KEY", None)
    env.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{home.resolve() / 'mlflow' / 'mlflow.db'}")
    phases: list[Phase] = []
    bento = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port"]

    def ready(port: int) -> Callable[[], bool]:
        return lambda: _get_status(port) == 200

    port = _free_port()
    with running([*bento, str(port), "serving.service:Cintel"], env, port, ready(port)):
        # first ask: every customer once (the service prepares each answer on first request)
        order = rng.sample(ids, len(ids))

        def first(i: int) -> bytes:
            return json.dumps({"customer_ids": order[i * batch : (i + 1) * batch]}).encode()

        n_first = len(ids) // batch
        phases.append(
            drive(port, "/profiles", first, 1, n_first, 60, f"/profiles {batch} first", batch)
        )
        profile: Body = lambda i: json.dumps({"customer_id": ids[i % len(ids)]}).encode()  # noqa: E731
        phases += run_suite(port, "/profile", profile, "cintel /profile", n_seq, n_conc, max_s)
        many: Body = lambda _i: json.dumps({"customer_ids": rng.sample(ids, batch)}).encode()  # noqa: E731
        phases.append(
            drive(port, "/profiles", many, 1, 30, max_s, f"/profiles {batch} again", batch)
        )
        phases.append(
            drive(port, "/profiles", many, 2, 40, max_s, f"/profiles {batch} again", batch)
        )

    row = json.dumps({"features": [random.Random(1).gauss(0, 1) for _ in range(40)]}).encode()
    one: Body = lambda _i: row  # noqa: E731
    port = _free_port()
    with running([*bento, str(port), "bench.bare_bento:Bare"], env, port, ready(port)):
        phases += run_suite(port, "/predict", one, "bare BentoML", n_seq, n_conc, max_s)

    port = _free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.bare_fastapi:app", "--no-access-log"]
    probe = lambda: _post(http.client.HTTPConnection("127.0.0.1", port), "/predict", row)[0] == 200  # noqa: E731
    with running([*uvicorn, "--host", "127.0.0.1", "--port", str(port)], env, port, probe):
        phases += run_suite(port, "/predict", one, "bare FastAPI", n_seq, n_conc, max_s)
    return phases


def _get_status(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    conn.request("GET", "/readyz")
    return conn.getresponse().status


def report(phases: list[Phase]) -> None:
    print(
        f"\n{'phase':<26}{'clients':>8}{'requests':>10}{'req/s':>10}{'items/s':>11}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    for p in phases:
        print(
            f"{p.name:<26}{p.clients:>8}{p.requests:>10}{p.rps:>10.0f}{p.items_per_s:>11.0f}"
            f"{p.p50_ms:>9.2f}{p.p99_ms:>9.2f}"
        )
    by = {(p.name, p.clients): p for p in phases}
    seq = by[("cintel /profile seq", 1)]
    cin8, bare8 = by[("cintel /profile x8", 8)], by[("bare BentoML x8", 8)]
    first = next(p for p in phases if p.name.endswith(" first"))
    again = max((p for p in phases if p.name.endswith(" again")), key=lambda p: p.items_per_s)
    print("\ntargets")
    print(f"  /profile p50 {seq.p50_ms:.2f} ms (<= 2)    p99 {seq.p99_ms:.2f} ms (<= 10)")
    print(
        f"  /profile x8 / bare BentoML x8 = {cin8.rps:.0f} / {bare8.rps:.0f} = "
        f"{cin8.rps / bare8.rps:.2f} (>= 1)"
    )
    print(
        f"  /profiles {again.items_per_s:,.0f} customers/s with {again.clients} client(s) "
        f"(>= 50,000); {first.items_per_s:,.0f}/s the first time a customer is asked for"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing, materialized CINTEL_HOME")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--sequential", type=int, default=2_000, help="sequential requests")
    parser.add_argument("--concurrent", type=int, default=6_000, help="requests per load phase")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap per phase")
    parser.add_argument("--batch", type=int, default=1_000, help="ids per /profiles request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cintel-bench-") as tmp:
        home = args.home or build_home(Path(tmp), args.customers)
        report(bench(home, args.sequential, args.concurrent, args.max_seconds, args.batch))


if __name__ == "__main__":
    main()
