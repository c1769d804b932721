"""The reliability suite (issue 12): the running system measured from outside, one table.

    python bench/reliability.py [--out bench/results/reliability.json] [--only load,canary]

Builds a throw-away cintel under /tmp (``cintel synth`` → ``train`` → ``materialize``),
starts ``cintel serve`` on a random 127.0.0.1 port, and measures: schemathesis over
/docs.json, a constant-rate open-loop load on /profile, kill -9 of the worker under that
load, the registry unreachable for a whole load, four corrupt artifacts moved to
@champion, SIGKILL while feedback and request logs are written, a canary id and e-mail in
bad requests, and two trains and two cycles at once. Each row gives the figure, the
target from issue 12 and pass/fail; the table is printed and written as JSON. ~12 min on
2 cores. Exit 0 when every row passes, 1 otherwise (``make test-reliability`` then holds
each row in tests/reliability/).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import reliability_checks as checks
from bench import reliability_concurrency, reliability_input, reliability_load, reliability_registry
from bench.reliability_system import REPO, Server, System

ROW_KEYS = (
    "fuzz_5xx",
    "fuzz_schema",
    "load_non2xx",
    "load_p99",
    "kill_recovery",
    "kill_longest_wait",
    "registry_failed",
    "corrupt_never_served",
    "corrupt_rollback",
    "corrupt_metric",
    "kill_feedback_lost",
    "kill_requestlog_lost",
    "canary",
    "concurrent_errors",
    "concurrent_aliases",
    "concurrent_cycle_refused",
    "stop_tree",
)
SCENARIOS = ("fuzz", "canary", "load", "kill", "corrupt", "registry", "logging", "concurrent")
DEFAULT_OUT = REPO / "bench" / "results" / "reliability.json"


def _guard(rows: list[checks.Row], name: str, keys: tuple[str, ...], fn: Callable[[], Any]) -> None:
    """Run one scenario; a harness or system failure becomes failed rows, not a crash."""
    started = time.monotonic()
    print(f"reliability: {name} …", flush=True)
    try:
        got: list[checks.Row] = fn()
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}"
        print(f"reliability: {name} could not be measured: {why}", flush=True)
        got = [
            checks.Row(k, k, "not measured", "-", False, {"error": traceback.format_exc()})
            for k in keys
        ]
    for row in got:
        row.detail = {**row.detail, "scenario_seconds": round(time.monotonic() - started, 1)}
        print(f"  {row.check}: {row.figure} [{_verdict(row)}]", flush=True)
    rows.extend(got)


def _verdict(row: checks.Row) -> str:
    return "-" if row.passed is None else ("pass" if row.passed else "FAIL")


def table(rows: list[checks.Row]) -> str:
    """The rows as a Markdown table (as the README shows it)."""
    lines = ["| check | figure | target | result |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.check} | {row.figure} | {row.target} | {_verdict(row)} |")
    return "\n".join(lines)


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            return "unknown (not a git checkout)"
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def run(args: argparse.Namespace) -> list[checks.Row]:
    only = set(args.only.split(",")) if args.only else set(SCENARIOS)
    system = System()
    rows: list[checks.Row] = []
    rate, duration, poll = args.rate, args.duration, args.poll_seconds
    print(f"reliability: system under {system.root}", flush=True)
    try:
        system.setup(args.customers)
        server: Server = system.serve(poll_seconds=poll)
        if "fuzz" in only:
            _guard(
                rows,
                "schemathesis",
                ROW_KEYS[:2],
                lambda: reliability_input.fuzz(server, system, args.cases),
            )
        if "canary" in only:
            _guard(rows, "canary", ("canary",), lambda: reliability_input.canary(system, server))
        if "load" in only:
            _guard(
                rows,
                "constant load",
                ROW_KEYS[2:4],
                lambda: reliability_load.steady_load(system, server, rate, duration),
            )
        if "kill" in only:
            server.wait_ready(60)
            _guard(
                rows,
                "kill -9 under load",
                ROW_KEYS[4:6],
                lambda: reliability_load.worker_kill(
                    system, server, rate, duration, kill_at=duration / 4
                ),
            )
        if "corrupt" in only:
            server.wait_ready(60)
            _guard(
                rows,
                "corrupt artifacts",
                ROW_KEYS[7:10],
                lambda: reliability_registry.corrupt_artifacts(system, server, poll),
            )
        rows.append(checks.stop_row(server.stop()))
        if "registry" in only:
            _guard(
                rows,
                "registry unreachable",
                ("registry_failed",),
                lambda: reliability_registry.registry_outage(system, rate, duration),
            )
        if "logging" in only or "concurrent" in only:
            server = system.serve(poll_seconds=poll)
            if "logging" in only:
                _guard(
                    rows,
                    "SIGKILL during logging",
                    ROW_KEYS[10:12],
                    lambda: reliability_load.kill_during_logging(
                        system, server, rate, args.log_duration
                    ),
                )
            if "concurrent" in only:
                server.wait_ready(60)
                _guard(
                    rows,
                    "concurrent train and cycle",
                    ROW_KEYS[13:16],
                    lambda: reliability_concurrency.concurrent_jobs(system, server),
                )
    finally:
        system.close()
    order = {k: i for i, k in enumerate(ROW_KEYS)}
    rows.sort(key=lambda r: order.get(r.key, len(order)))
    if not args.keep:
        import shutil

        shutil.rmtree(system.root, ignore_errors=True)
    else:
        print(f"reliability: kept {system.root}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--only", default="", help=f"comma-separated: {','.join(SCENARIOS)}")
    parser.add_argument("--customers", type=int, default=2500)
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s of the loads")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of each load")
    parser.add_argument("--log-duration", type=float, default=20.0, help="logging-kill load s")
    parser.add_argument("--cases", type=int, default=3000, help="schemathesis cases, at least")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="service poll interval")
    parser.add_argument("--keep", action="store_true", help="keep the /tmp system and logs")
    args = parser.parse_args(argv)
    unknown = set(filter(None, args.only.split(","))) - set(SCENARIOS)
    if unknown:
        parser.error(f"--only: unknown {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    started = time.time()
    env = checks.environment()
    commit = _commit()  # before the run: the code measured
    rows = run(args)
    result = {
        "suite": "cintel reliability (issue 12)",
        "commit": commit,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started),
        "command": "make test-reliability  # python bench/reliability.py "
        + " ".join(argv or sys.argv[1:]),
        "settings": {k: v for k, v in vars(args).items() if k != "out"} | {"out": str(args.out)},
        "environment": env,
        "rows": [asdict(r) for r in rows],
        "not_run": [k for k in ROW_KEYS if k not in {r.key for r in rows}] if args.only else [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print()
    print(table(rows))
    failed = [r.key for r in rows if r.passed is False]
    print(
        f"\n{len(rows) - len(failed)} of {len(rows)} rows meet their target; "
        f"{result['seconds']} s; written to {args.out}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
