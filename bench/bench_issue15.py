"""What issue 15 (customer economics and partial churn) adds to `cintel materialize` and to
/profile: the same work with CINTEL_ECONOMICS=on and =off, interleaved in one run.

    CINTEL_HOME=<home with the champions, cintel-potential and cintel-churn-partial> \
        .venv/bin/python bench/bench_issue15.py [--customers 100000] [--data DIR] \
        [--rounds 2] [--requests 2000] [--out bench/results/issue15.json]

"Off" publishes the store without the P&L and lifecycle columns and without the
cintel-potential and cintel-churn-partial scores (``serving.settings``); everything else is
the same. materialize: each round runs ``serving.batch.materialize.materialize`` (snapshot,
scoring, economics, event history, store write) once each way, the order alternating
between rounds, each into its own home (the registry shared, the champions cached first);
read + validate is the same for both and is added to both. /profile: both stores are served
at once (``bentoml serve``, one worker each); every customer is asked for once first (the
service prepares an answer on first request), then the rounds alternate which server is
driven first: sequential requests (p50) and 8 keep-alive clients (requests/s). Targets:
materialize +20 % at most, /profile +5 % at most (issue 15).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_economics import COSTS
from bench.bench_service import _free_port, _get_status, drive, running

MODES = ("on", "off")
SERVICE = "serving.service:Cintel"
TARGETS = {"materialize": 0.20, "profile": 0.05}


def _settings(home: Path, mode: str, tracking: str) -> Any:
    from serving.settings import ServiceSettings

    os.environ["MLFLOW_TRACKING_URI"] = tracking  # the registry both homes share
    return ServiceSettings(home=home, economics="on" if mode == "on" else "off")


def bench_materialize(
    folder: Path, homes: dict[str, Path], tracking: str, rounds: int
) -> dict[str, Any]:
    """Seconds of each materialize, by mode, interleaved; read + validate timed once."""
    from serving.batch.materialize import load_champions, materialize
    from training.data.io import load_data
    from training.economics.costs import parse_costs

    t = time.perf_counter()
    data = load_data(folder)
    read_s = time.perf_counter() - t
    costs = parse_costs(COSTS, "bench costs")
    for mode, home in homes.items():  # download the champions into each home's cache
        load_champions(_settings(home, mode, tracking), optional=True)
    seconds: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(rounds):
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            settings = _settings(homes[mode], mode, tracking)
            t = time.perf_counter()
            result = materialize(data, settings, costs=costs)
            seconds[mode].append(time.perf_counter() - t)
            print(
                f"  materialize round {r + 1} economics={mode}: {seconds[mode][-1]:.1f} s "
                f"({result.n_customers:,} customers, models {sorted(result.versions)})",
                flush=True,
            )
    on, off = (statistics.median(seconds[m]) + read_s for m in MODES)
    return {
        "customers": len(data.customers),
        "transactions": len(data.transactions),
        "read_validate_s": read_s,
        "seconds": seconds,
        "median_with_read_s": {"on": on, "off": off},
        "added": on / off - 1.0,
    }


def bench_profile(
    homes: dict[str, Path], tracking: str, rounds: int, requests: int
) -> dict[str, Any]:
    """Both stores served at once; per round and mode: sequential p50 and x8 req/s."""
    import pandas as pd

    from serving.store import PROFILES_FILE

    bento = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port"]
    ports = {m: _free_port() for m in MODES}
    ids = pd.read_parquet(homes["on"] / "store" / PROFILES_FILE)["customer_id"].astype(str)
    ids_list = ids.tolist()
    rng = random.Random(0)
    results: dict[str, dict[str, list[float]]] = {m: {"p50_ms": [], "rps_x8": []} for m in MODES}

    def env(mode: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k != "CINTEL_API_KEY"}
        return {
            **base,
            "CINTEL_HOME": str(homes[mode]),
            "CINTEL_ECONOMICS": mode,
            "CINTEL_POLL_SECONDS": "0",
            "MLFLOW_TRACKING_URI": tracking,
        }

    def probe(port: int) -> Any:
        return lambda: _get_status(port) == 200

    def one(i: int) -> bytes:
        return json.dumps({"customer_id": ids_list[(i * 7919) % len(ids_list)]}).encode()

    def serve(mode: str) -> Any:
        port = ports[mode]
        return running([*bento, str(port), SERVICE], env(mode), port, probe(port))

    with serve("on"), serve("off"):
        order = rng.sample(ids_list, len(ids_list))
        batch = 1000

        def first(i: int) -> bytes:
            return json.dumps({"customer_ids": order[i * batch : (i + 1) * batch]}).encode()

        for mode in MODES:  # every answer prepared once, in both servers
            n = -(-len(order) // batch)  # the last batch may be short, never empty
            drive(ports[mode], "/profiles", first, 1, n, 300, f"first {mode}", batch)
            drive(ports[mode], "/profile", one, 4, 500, 20, f"warm-up {mode}")
        for r in range(rounds):
            for mode in MODES if r % 2 == 0 else MODES[::-1]:
                seq = drive(ports[mode], "/profile", one, 1, requests, 60, f"seq {mode}")
                x8 = drive(ports[mode], "/profile", one, 8, 3 * requests, 60, f"x8 {mode}")
                results[mode]["p50_ms"].append(seq.p50_ms)
                results[mode]["rps_x8"].append(x8.rps)
                print(
                    f"  /profile round {r + 1} economics={mode}: p50 {seq.p50_ms:.3f} ms, "
                    f"p99 {seq.p99_ms:.2f} ms, x8 {x8.rps:.0f} req/s",
                    flush=True,
                )
    p50 = {m: statistics.median(results[m]["p50_ms"]) for m in MODES}
    rps = {m: statistics.median(results[m]["rps_x8"]) for m in MODES}
    return {
        "rounds": results,
        "median_p50_ms": p50,
        "median_rps_x8": rps,
        "added_p50": p50["on"] / p50["off"] - 1.0,
        "added_time_x8": rps["off"] / rps["on"] - 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None, help="data folder (default: synth)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=2000, help="sequential per round")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument(
        "--root", type=Path, default=None, help="folder of the two homes (default: a new one)"
    )
    parser.add_argument(
        "--skip-materialize", action="store_true", help="reuse the stores under --root"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    from serving.settings import ServiceSettings

    tracking = ServiceSettings().tracking_uri
    root = args.root or Path(tempfile.mkdtemp(prefix="bench-issue15-"))
    folder = args.data or root / "data"
    if not (folder / "transactions.parquet").exists():
        from training.data.simulator.simulate import SynthConfig, synthesize, write_synth

        write_synth(synthesize(SynthConfig(n_customers=args.customers, seed=11)), folder)
    homes = {m: root / f"home-{m}" for m in MODES}
    out: dict[str, Any] = {"command": " ".join(sys.argv), "rounds": args.rounds}
    if not args.skip_materialize:
        print(f"materialize, economics on and off, {args.rounds} round(s), interleaved")
        out["materialize"] = bench_materialize(folder, homes, tracking, args.rounds)
    if not args.skip_profile:
        print("/profile, both stores served at once, interleaved", flush=True)
        out["profile"] = bench_profile(homes, tracking, args.rounds, args.requests)
    if "materialize" in out:
        m = out["materialize"]
        print(f"\n{m['customers']:,} customers, {m['transactions']:,} transactions")
        mon, moff = m["median_with_read_s"]["on"], m["median_with_read_s"]["off"]
        print(
            f"materialize (read + validate {m['read_validate_s']:.1f} s included): "
            f"{mon:.1f} s with vs {moff:.1f} s without: +{m['added']:.1%} "
            f"(target <= {TARGETS['materialize']:.0%})"
        )
    if "profile" in out:
        p = out["profile"]
        print(
            f"/profile p50 {p['median_p50_ms']['on']:.3f} vs {p['median_p50_ms']['off']:.3f} ms: "
            f"{p['added_p50']:+.1%}; x8 {p['median_rps_x8']['on']:.0f} vs "
            f"{p['median_rps_x8']['off']:.0f} req/s: time per request {p['added_time_x8']:+.1%} "
            f"(target <= {TARGETS['profile']:.0%})"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
