"""What decision records cost: /profile throughput with decision logging on and off.

    .venv/bin/python bench/bench_decisions.py [--home CINTEL_HOME] [--customers 20000]
        [--rounds 6] [--seconds 10] [--connections 8]

Two ``bentoml serve`` processes (one worker each) run side by side on the same store, one
with ``CINTEL_DECISIONS=on`` (the default: every answer's record handed to the OS before it
is sent), one with ``off``. Both first answer every customer once (the prepared answers),
then ``wrk -t1`` (one client thread, leaving a core to the server) drives /profile with
random customers, alternating on, off, on, off... so both see the same machine load. It
prints each round's requests/s and the ratio on/off, the median ratio (issue 14: at least
0.95), and the servers' CPU time per request (all processes of each server, from
/proc): on a machine shared with other work, throughput swings with the neighbours' load,
CPU per request much less, and a CPU-bound server's throughput is its inverse. Without wrk
(``apt-get install -y wrk``) a closed-loop Python client stands in. A last, in-process
figure times the answer path alone (render + record + write()).
A missing ``--home`` is built there (synth, train, materialize: a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_service import _free_port, _get_status, build_home, drive, running

REPO = Path(__file__).resolve().parents[1]
LUA = """
local ids = {}
for line in io.lines("%s") do ids[#ids + 1] = line end
math.randomseed(%d)
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("POST", "/profile", {["Content-Type"] = "application/json"},
                    '{"customer_id":"' .. id .. '","channel":"web"}')
end
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")


def processes(pid: int) -> list[int]:
    """``pid`` and its descendants (BentoML's workers run in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += children.get(out[-1], [])
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the live processes ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def wrk(port: int, script: Path, seconds: float, connections: int) -> dict[str, float]:
    """One wrk run: requests/s, request count, p50 and p99 latency (ms); errors raise."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    n = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "n": n, "p50": p50, "p99": p99}


def python_client(port: int, ids: list[str], seconds: float, connections: int) -> dict[str, float]:
    rng = random.Random(0)

    def body(_i: int) -> bytes:
        return json.dumps({"customer_id": rng.choice(ids), "channel": "web"}).encode()

    phase = drive(port, "/profile", body, connections, 10**9, seconds, "profile")
    return {"rps": phase.rps, "n": phase.requests, "p50": phase.p50_ms, "p99": phase.p99_ms}


def in_process(home: Path, ids: list[str], n: int = 20_000) -> tuple[float, float]:
    """µs per /profile answer (prepared customers) without and with its decision record."""
    from serving.answers import Decisions, StoreAnswers, from_store, render
    from serving.catalogue import default_catalogue
    from serving.decisions import request_head
    from serving.jsonlog import JsonLog
    from serving.offers import OfferContext, request_rules
    from serving.store import FileStore

    store = FileStore.load(home / "store")
    catalogue = default_catalogue()
    answers = StoreAnswers(store, catalogue)
    rules = request_rules(catalogue, OfferContext(channel="web"))
    versions = store.meta.get("versions", {})
    sample = [ids[i % len(ids)] for i in range(n)]
    for cid in sample:
        from_store(answers, [cid])
    with tempfile.TemporaryDirectory() as tmp:
        log = JsonLog(Path(tmp))
        timings = {}
        for mode in ("off", "on", "off", "on"):
            t0 = time.perf_counter()
            for cid in sample:
                batch = from_store(answers, [cid])
                if mode == "off":
                    render(batch, catalogue, rules, None, versions)
                    continue
                ts = "2026-12-01T10:00:00.000000+00:00"
                decided = Decisions(request_head("/profile", "web", "2026-11-30", versions), ts)
                render(batch, catalogue, rules, None, versions, decided=decided)
                log.write_through(b"".join(decided.lines), ts, len(decided.lines))
            timings[mode] = (time.perf_counter() - t0) / n * 1e6
        log.close()
    return timings["off"], timings["on"]


def _compare(a: str, b: str, results: dict[str, list[dict[str, float]]]) -> None:
    ratios = [x["rps"] / y["rps"] for x, y in zip(results[a], results[b], strict=True)]
    pooled = sum(x["rps"] for x in results[a]) / sum(x["rps"] for x in results[b])
    cpu = {
        m: sum(x["cpu_ms"] * x["n"] for x in results[m]) / sum(x["n"] for x in results[m])
        for m in (a, b)
    }
    print(
        f"{a} / {b}: /profile throughput median of rounds {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}), all rounds {pooled:.3f}; CPU per "
        f"request {cpu[a]:.3f} / {cpu[b]:.3f} ms, CPU-bound throughput {cpu[b] / cpu[a]:.3f}"
    )


def _fmt(run: dict[str, float]) -> str:
    return (
        f"{run['rps']:5.0f} req/s (p50 {run['p50']:.2f} ms, p99 {run['p99']:.0f}, "
        f"CPU {run['cpu_ms']:.3f} ms/req)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a materialized CINTEL_HOME (built if missing)")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10, help="on/off pairs")
    parser.add_argument("--seconds", type=float, default=8.0, help="per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--aa", action="store_true", help="a second 'off' server: the spread of two equal ones"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cintel-bench-") as tmp:
        home = args.home
        if home is None:
            home = build_home(Path(tmp), args.customers)
        elif not (home / "store" / "profiles.parquet").exists():
            home = build_home(home.parent, args.customers)  # build_home makes parent/.cintel
        run(home, args, Path(tmp))


def _home_copy(home: Path, folder: Path) -> Path:
    """A CINTEL_HOME of its own for one server: the store copied, the model cache shared
    (so each server's decision and request logs are its own)."""
    shutil.copytree(home / "store", folder / "store")
    if (home / "model-cache").exists():
        (folder / "model-cache").symlink_to((home / "model-cache").resolve())
    return folder


def run(home: Path, args: argparse.Namespace, tmp: Path) -> None:
    import pandas as pd

    ids = pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].astype(str).tolist()
    (tmp / "ids.txt").write_text("\n".join(ids) + "\n")
    script = tmp / "profile.lua"
    script.write_text(LUA % (tmp / "ids.txt", 7))
    use_wrk = shutil.which("wrk") is not None
    base = {**os.environ, "CINTEL_POLL_SECONDS": "0"}
    base.pop("CINTEL_API_KEY", None)
    base.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{home.resolve() / 'mlflow' / 'mlflow.db'}")
    bento = [sys.executable, "-m", "bentoml", "serve", "serving.service:Cintel"]
    modes = ["on", "off", "off2"] if args.aa else ["on", "off"]
    ports = {m: _free_port() for m in modes}
    homes = {m: _home_copy(home, tmp / f"home-{m}") for m in modes}
    client = "wrk -t1" if use_wrk else "python closed loop"
    print(
        f"client: {client}, c={args.connections}, {args.seconds:g} s per run, "
        f"{args.rounds} rounds; {len(ids):,} customers; servers: {', '.join(modes)}",
        flush=True,
    )
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    with contextlib.ExitStack() as stack:
        groups = {}
        for m in modes:
            decisions = "on" if m == "on" else "off"
            env = {**base, "CINTEL_HOME": str(homes[m]), "CINTEL_DECISIONS": decisions}
            server = stack.enter_context(
                running(
                    [*bento, "--host", "127.0.0.1", "--port", str(ports[m])],
                    env,
                    ports[m],
                    lambda m=m: _get_status(ports[m]) == 200,  # type: ignore[misc]
                )
            )
            groups[m] = processes(server.pid)
        for mode, port in ports.items():  # every customer once: the answers get prepared
            batches = [ids[i : i + 1000] for i in range(0, len(ids), 1000)]

            def first(i: int, batches: list[list[str]] = batches) -> bytes:
                return json.dumps({"customer_ids": batches[i]}).encode()

            drive(port, "/profiles", first, 1, len(batches), 120, f"prepare {mode}")
        for r in range(args.rounds + 1):  # round 0 warms up and is not counted
            for mode in modes[r % len(modes) :] + modes[: r % len(modes)]:  # rotating order
                seconds = args.seconds if r else 3
                cpu = cpu_seconds(groups[mode])
                if use_wrk:
                    got = wrk(ports[mode], script, seconds, args.connections)
                else:
                    got = python_client(ports[mode], ids, seconds, args.connections)
                got["cpu_ms"] = (cpu_seconds(groups[mode]) - cpu) / got["n"] * 1000
                if r:
                    results[mode].append(got)
            if r:
                on, off = results["on"][-1], results["off"][-1]
                print(
                    f"round {r}: "
                    + "  ".join(f"{m} {_fmt(results[m][-1])}" for m in modes)
                    + f"  on/off {on['rps'] / off['rps']:.3f}",
                    flush=True,
                )
    records = sum(1 for p in (homes["on"] / "decisions").glob("*.jsonl") for _ in p.open("rb"))
    print(f"\ndecision records written by the 'on' server: {records:,}")
    for other in [m for m in modes if m != "on"]:
        _compare("on", other, results)
    if args.aa:
        _compare("off2", "off", results)
    off_us, on_us = in_process(home, ids)
    print(
        f"in process, per /profile answer: {off_us:.1f} µs without, {on_us:.1f} µs with its "
        f"decision record and write() (+{on_us - off_us:.1f} µs)"
    )


if __name__ == "__main__":
    main()
