"""/profile latency with the worker's heap and tracing settings on and off, interleaved.

    python bench/bench_worker_settings.py [--rounds 4] [--window 20] [--rate 100]
        [--json bench/results/worker_settings.json]

One throw-away cintel (``cintel synth`` 2,500 customers, ``train``, ``materialize``) and
two ``cintel serve`` on it at once: *before* with ``CINTEL_GC=off CINTEL_TRACING=on``
(CPython's collector defaults, an OpenTelemetry span per request: the service before
these settings), *after* with the defaults. Every customer is asked for once on each, then
rounds of an open-loop constant-rate load on /profile (``bench/loadgen.py``, latency from
the scheduled send) go to one server and then the other, the first of each round
alternating, so both see the same machine. Prints p50/p99/max per server over all its
windows, each window's p99 and the machine's load average beside it. Loads are bounded
and sent to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reliability_checks import load, percentile, profile_bodies, warm_up
from bench.reliability_system import Server, System

ARMS = {
    "before": {"CINTEL_GC": "off", "CINTEL_TRACING": "on"},
    "after": {},  # the defaults: CINTEL_GC=on, CINTEL_TRACING=off
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--window", type=float, default=20.0, help="seconds per window")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--customers", type=int, default=2500)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    system = System()
    windows: list[dict[str, Any]] = []
    try:
        system.setup(args.customers)
        servers: dict[str, Server] = {arm: system.serve(2.0, **env) for arm, env in ARMS.items()}
        bodies = profile_bodies(system)
        for server in servers.values():
            warm_up(server, [b["customer_id"] for b in bodies])
        order = list(servers)
        for r in range(args.rounds):
            for arm in order if r % 2 == 0 else order[::-1]:
                with load(system, servers[arm], "/profile", bodies, args.rate, args.window) as got:
                    pass
                run = got[0]
                lat = run.latencies()
                windows.append(
                    {
                        "round": r,
                        "arm": arm,
                        "latencies": lat,
                        "non_2xx": len(run.failed()),
                        "p99_ms": percentile(lat, 0.99),
                        "load_average_1m": round(run.load_average, 2),
                    }
                )
                print(
                    f"round {r} {arm:<6} p99 {windows[-1]['p99_ms']:7.1f} ms  "
                    f"load {run.load_average:.1f}",
                    flush=True,
                )
        status = {arm: s.status() for arm, s in servers.items()}
    finally:
        system.close()
        shutil.rmtree(system.root, ignore_errors=True)
    summary: dict[str, Any] = {}
    for arm in ARMS:
        lat = sorted(x for w in windows if w["arm"] == arm for x in w["latencies"])
        summary[arm] = {
            "settings": ARMS[arm] or "defaults",
            "requests": len(lat),
            "non_2xx": sum(w["non_2xx"] for w in windows if w["arm"] == arm),
            "p50_ms": percentile(lat, 0.5),
            "p99_ms": percentile(lat, 0.99),
            "max_ms": lat[-1] if lat else None,
            "window_p99_ms": [w["p99_ms"] for w in windows if w["arm"] == arm],
            "gc_collections": status[arm].get("gc_collections"),
            "gc_frozen": status[arm].get("gc_frozen"),
        }
    loads = [w["load_average_1m"] for w in windows]
    print()
    for arm, s in summary.items():
        print(
            f"{arm:<6} p50 {s['p50_ms']:.1f} ms  p99 {s['p99_ms']:.1f} ms  max {s['max_ms']:.0f} ms"
            f"  ({s['requests']} requests, {s['non_2xx']} non-2xx; {s['settings']})"
        )
    print(f"machine load average during the windows: {min(loads):.1f}-{max(loads):.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "command": "python bench/bench_worker_settings.py " + " ".join(sys.argv[1:]),
            "cpus": os.cpu_count(),
            "summary": summary,
            "windows": [{k: v for k, v in w.items() if k != "latencies"} for w in windows],
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
