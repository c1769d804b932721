"""Load test on loopback: cintel /profile and /profiles vs bare BentoML and FastAPI baselines.

    .venv/bin/python bench/bench_service.py [--home CINTEL_HOME] [--customers 20000]
        [--seconds 10] [--rounds 3] [--open-seconds 30] [--batch 100] [--base TREE]
        [--profiles-workers 2]

The three servers (``cintel serve --workers 1``, a bare BentoML and a bare FastAPI endpoint
doing one XGBoost prediction; one worker each; with ``--base``, cintel from that tree as a
fourth, for an A/B of a change) run at once and are measured in turn, interleaved:
``--rounds`` rounds, each through c = 1, 8 and 32 connections and at each through the
servers in a rotated order, driven by ``wrk`` (one thread, closed loop: C, a fraction of a
core). The ratios are cintel's req/s over each baseline's in the same round, median over
rounds. Then each server gets an open-loop run (``bench/loadgen.py``, its own process) at
half its best closed-loop throughput, latencies from the scheduled send (corrected for
coordinated omission; ``--open-seconds 0`` skips it), and ``/profiles`` with ``--batch``
ids gets wrk at 1 and 2 connections (customers/s), interleaved the same way, beside (with
``--profiles-workers N``, default 2) a cintel of N workers at 1, 2 and 4 connections: the
service as ``cintel serve`` starts it by default. Every
customer is asked for once first (the service prepares each answer on its first request).
Numeric libraries run one thread (``BENCH_THREADS``). Client and servers share the
machine's cores: on 2 cores the client's share is part of what is measured. Without
``--home`` it builds one (synth, train, materialize) under a temporary folder.
"""

from __future__ import annotations

from runenv import pin_threads

pin_threads()  # before numpy: explicit thread counts, in this process and the servers

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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import wrk

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
def running(
    cmd: list[str], env: dict[str, str], port: int, probe: Callable[[], bool], cwd: Path = REPO
) -> Iterator:
    """Start a server in its own process group, wait until ``probe`` passes, stop it after
    (SIGTERM: ``cintel serve`` passes it on to its own session); yields the process."""
    log = open(Path(tempfile.gettempdir()) / f"bench-serve-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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


def _get_status(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    conn.request("GET", "/readyz")
    return conn.getresponse().status


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


BASELINES = ("bare FastAPI", "bare BentoML")
SERVERS = ("cintel", *BASELINES)
BASE = "cintel @base"  # cintel from another tree (--base), for an A/B of a change
CLIENTS = (1, 8, 32)


def start_servers(
    stack: ExitStack, home: Path, base: Path | None = None, profiles_workers: int = 0
) -> dict[str, tuple[int, str]]:
    """cintel (``cintel serve --workers 1``, as a user starts it: its settings for
    BentoML's access log and tracing apply), a bare BentoML and a bare FastAPI one-model
    endpoint, with ``base`` cintel from that tree too, and with ``profiles_workers`` > 1 a
    cintel with that many workers (for ``/profiles`` only), all running at once so their
    runs can interleave; name -> (port, path)."""
    env = {**os.environ, "CINTEL_HOME": str(home), "CINTEL_POLL_SECONDS": "0"}
    env.pop("CINTEL_API_KEY", None)
    env.pop("BENTOML_CONFIG_OVERRIDES", None)
    env.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{home.resolve() / 'mlflow' / 'mlflow.db'}")
    bento = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port"]
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.bare_fastapi:app", "--no-access-log"]
    serve = [sys.executable, "-m", "monitoring.entry", "serve", "--workers", "1"]
    out: dict[str, tuple[int, str]] = {}
    trees = [("cintel", REPO)] + ([(BASE, base.resolve())] if base is not None else [])
    for name, tree in trees:
        port = _free_port()
        tree_env = {**env, "PYTHONPATH": str(tree)}
        cmd = [*serve, "--host", "127.0.0.1", "--port", str(port)]
        stack.enter_context(running(cmd, tree_env, port, _ready(port), cwd=tree))
        out[name] = (port, "/profile")
    if profiles_workers > 1:
        port = _free_port()
        cmd = [*serve[:-1], str(profiles_workers), "--host", "127.0.0.1", "--port", str(port)]
        tree_env = {**env, "PYTHONPATH": str(REPO)}
        stack.enter_context(running(cmd, tree_env, port, _ready(port), cwd=REPO))
        out[many_workers(profiles_workers)] = (port, "/profiles")
    port = _free_port()
    target = "bench.bare_bento:Bare"
    stack.enter_context(running([*bento, str(port), target], env, port, _ready(port)))
    out["bare BentoML"] = (port, "/predict")
    port = _free_port()
    probe = lambda: _post(http.client.HTTPConnection("127.0.0.1", port), "/predict", ROW)[0] == 200  # noqa: E731
    cmd = [*uvicorn, "--host", "127.0.0.1", "--port", str(port)]
    stack.enter_context(running(cmd, env, port, probe))
    out["bare FastAPI"] = (port, "/predict")
    return out


def many_workers(n: int) -> str:
    return f"cintel x{n}"


def _ready(port: int) -> Callable[[], bool]:
    return lambda: _get_status(port) == 200


ROW = json.dumps({"features": [random.Random(1).gauss(0, 1) for _ in range(40)]}).encode()


def closed_loop(
    servers: dict[str, tuple[int, str]], bodies: dict[str, list[bytes]], seconds: float,
    rounds: int,
) -> dict[tuple[str, int], list[wrk.WrkResult]]:  # fmt: skip
    """wrk runs of every server at every client count, interleaved: each round goes
    through the client counts, and at each one through the servers in a rotated order, so
    a change of the machine's load hits all servers alike."""
    runs: dict[tuple[str, int], list[wrk.WrkResult]] = {}
    names = list(servers)
    for r in range(rounds):
        for c in CLIENTS:
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                port, path = servers[name]
                url = f"http://127.0.0.1:{port}{path}"
                runs.setdefault((name, c), []).append(wrk.run(url, bodies[name], c, seconds))
    return runs


def open_loop(port: int, path: str, bodies: list[bytes], rate: float, seconds: float) -> dict:
    """bench/loadgen.py (its own process) at ``rate``: latencies from the scheduled send
    (corrected for coordinated omission), ms."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "bodies.json", Path(tmp) / "out.jsonl"
        src.write_text("[" + ",".join(b.decode() for b in bodies) + "]")
        cmd = [sys.executable, str(REPO / "bench" / "loadgen.py"), "--url",
               f"http://127.0.0.1:{port}{path}", "--rate", f"{rate:.0f}", "--duration",
               f"{seconds:g}", "--bodies", str(src), "--out", str(out)]  # fmt: skip
        subprocess.run(cmd, check=True, cwd=REPO)
        records = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    lat = sorted(r["latency_ms"] for r in records)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    bad = sum(1 for r in records if r["status"] != 200)
    # the generator shares the cores: a request it sent late was held by the client, not
    # the server (its latency still counts from the schedule, as a user's would)
    late = sum(1 for r in records if r["latency_ms"] > 20 and r.get("sent_late_ms", 0) > 10)
    sent = sorted(r["latency_ms"] - r.get("sent_late_ms", 0) for r in records)
    return {"rate": rate, "n": len(lat), "p50": q[49], "p99": q[98], "max": lat[-1],
            "over_20ms": sum(1 for x in lat if x > 20), "errors": bad, "client_late": late,
            "p99_from_send": statistics.quantiles(sent, n=100, method="inclusive")[98]}  # fmt: skip


def bench(
    home: Path, seconds: float, rounds: int, open_s: float, batch: int, base: Path | None = None,
    profiles_workers: int = 0,
) -> dict:  # fmt: skip
    import pandas as pd

    if not wrk.available():
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    ids = pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].astype(str).tolist()
    rng = random.Random(0)
    out: dict = {}
    with ExitStack() as stack:
        every = start_servers(stack, home, base, profiles_workers)
        # the closed and open loops: one worker each; /profiles: every cintel
        servers = {n: v for n, v in every.items() if v[1] != "/profiles"}
        cintels = [n for n in servers if n.startswith("cintel")]
        batchers = [n for n in every if n.startswith("cintel")]
        # first ask: every customer once (the service prepares each answer on first request)
        order = rng.sample(ids, len(ids))
        first = lambda i: json.dumps({"customer_ids": order[i * 1000 : (i + 1) * 1000]}).encode()  # noqa: E731
        for name in cintels:
            port = servers[name][0]
            out.setdefault("first", {})[name] = drive(
                port, "/profiles", first, 1, len(ids) // 1000, 120, "first", 1000
            )
        one = [
            json.dumps({"customer_id": c}).encode() for c in rng.sample(ids, min(5000, len(ids)))
        ]
        bodies = {n: one for n in cintels} | {"bare FastAPI": [ROW], "bare BentoML": [ROW]}
        for name, (p, path) in servers.items():  # warm-up
            wrk.run(f"http://127.0.0.1:{p}{path}", bodies[name], 4, 2)
        out["closed"] = closed_loop(servers, bodies, seconds, rounds)
        best = {n: max(statistics.median(r.rps for r in out["closed"][(n, c)]) for c in CLIENTS)
                for n in servers}  # fmt: skip
        out["open"] = {}
        if open_s > 0:
            for name, (p, path) in servers.items():
                out["open"][name] = open_loop(p, path, bodies[name], best[name] / 2, open_s)
        many = [json.dumps({"customer_ids": rng.sample(ids, batch)}).encode() for _ in range(500)]
        connections = (1, 2, 4) if profiles_workers > 1 else (1, 2)
        for name in batchers:  # warm-up: each worker of each server prepares its customers
            wrk.run(f"http://127.0.0.1:{every[name][0]}/profiles", many, 4, 5)
        # /profiles interleaved too: each round through the cintel servers at each count
        out["profiles"] = {}
        for r in range(rounds):
            for c in connections:
                for name in batchers[r % len(batchers) :] + batchers[: r % len(batchers)]:
                    url = f"http://127.0.0.1:{every[name][0]}/profiles"
                    out["profiles"].setdefault((name, c), []).append(wrk.run(url, many, c, seconds))
    return out


def report(result: dict, batch: int) -> None:
    closed = result["closed"]
    med = lambda name, c, f: statistics.median(f(r) for r in closed[(name, c)])  # noqa: E731
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"\nclosed loop (wrk, 1 thread), median of {len(closed[('cintel', 1)])} interleaved runs")
    print(f"{'clients':>7} {'cintel /profile':>16} {'bare FastAPI':>13} {'bare BentoML':>13}"
          f" {'vs FastAPI':>11} {'vs BentoML':>11} {'cintel p50':>11} {'FastAPI p50':>12}"
          f" {'cintel p99':>11}")  # fmt: skip
    for c in CLIENTS:
        rps = {n: med(n, c, lambda r: r.rps) for n in SERVERS}
        # the ratio of each round's pair (same load), then the median over rounds
        pairs = zip(closed[("cintel", c)], closed[("bare FastAPI", c)], closed[("bare BentoML", c)],
                    strict=True)  # fmt: skip
        ratios = [(a.rps / f.rps, a.rps / b.rps) for a, f, b in pairs]
        print(f"{c:>7} {rps['cintel']:>12,.0f} r/s {rps['bare FastAPI']:>9,.0f} r/s"
              f" {rps['bare BentoML']:>9,.0f} r/s"
              f" {statistics.median(x for x, _ in ratios):>10.2f}x"
              f" {statistics.median(y for _, y in ratios):>10.2f}x"
              f" {med('cintel', c, lambda r: r.p50_ms):>8.2f} ms"
              f" {med('bare FastAPI', c, lambda r: r.p50_ms):>9.2f} ms"
              f" {med('cintel', c, lambda r: r.p99_ms):>8.2f} ms")  # fmt: skip
    if (BASE, 1) in closed:
        print(f"\ncintel vs {BASE} (the --base tree), ratio of each round's pair, median")
        for c in CLIENTS:
            pairs = zip(closed[("cintel", c)], closed[(BASE, c)], strict=True)
            ratios = [a.rps / b.rps for a, b in pairs]
            print(f"{c:>7} {med('cintel', c, lambda r: r.rps):>9,.0f} r/s vs"
                  f" {med(BASE, c, lambda r: r.rps):>7,.0f} r/s: {statistics.median(ratios):.2f}x"
                  f" (rounds {', '.join(f'{x:.2f}' for x in ratios)}); p50"
                  f" {med('cintel', c, lambda r: r.p50_ms):.2f} vs"
                  f" {med(BASE, c, lambda r: r.p50_ms):.2f} ms")  # fmt: skip
    errors = sum(r.errors for runs in closed.values() for r in runs)
    print(f"  socket errors and non-2xx answers over all runs: {errors}")
    print("\nopen loop (bench/loadgen.py) at half each server's best closed-loop throughput;"
          " latency from the scheduled send")  # fmt: skip
    for name, o in result["open"].items():
        print(f"  {name:<13} {o['rate']:>6,.0f}/s  n={o['n']:<6} p50 {o['p50']:7.2f} ms  "
              f"p99 {o['p99']:8.2f} ms  max {o['max']:8.1f} ms  >20 ms: {o['over_20ms']} "
              f"({o['client_late']} sent > 10 ms late by the generator)  errors {o['errors']};"
              f" p99 from the actual send {o['p99_from_send']:.2f} ms")  # fmt: skip
    print(f"\n/profiles with {batch} ids (wrk, median of interleaved runs; target >= 100,000"
          " customers/s)")  # fmt: skip
    for (name, c), runs in result["profiles"].items():
        rate = statistics.median(r.rps * batch for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        print(f"  {name:<13} {c} connection(s): {rate:>9,.0f} customers/s (p50 {p50:.1f} ms)")
    for name, first in result["first"].items():
        print(f"  {name:<13} {first.items_per_s:,.0f}/s the first time each customer is asked for")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing, materialized CINTEL_HOME")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per closed-loop run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--open-seconds", type=float, default=30.0, help="per open-loop run")
    parser.add_argument("--batch", type=int, default=100, help="ids per /profiles request")
    parser.add_argument(
        "--base", type=Path, help="also run cintel from this tree (e.g. a worktree of main)"
    )
    parser.add_argument(
        "--profiles-workers", type=int, default=2,
        help="also a cintel with this many workers (cintel serve's default: 2), for /profiles "
        "only (0: none)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cintel-bench-") as tmp:
        home = args.home or build_home(Path(tmp), args.customers)
        result = bench(
            home, args.seconds, args.rounds, args.open_seconds, args.batch, args.base,
            args.profiles_workers,
        )  # fmt: skip
        report(result, args.batch)


if __name__ == "__main__":
    main()
