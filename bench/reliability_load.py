"""Reliability checks under load: constant arrival, kill -9 of workers, SIGKILL while logging."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Any

from bench.reliability_checks import (
    Row,
    load,
    percentile,
    profile_bodies,
    warm_up,
)
from bench.reliability_system import Server, System


def steady_load(system: System, server: Server, rate: float, duration: float) -> list[Row]:
    """Constant arrival on /profile with the answers prepared: non-2xx and latency."""
    bodies = profile_bodies(system)
    warm_up(server, [b["customer_id"] for b in bodies])
    with load(system, server, "/profile", bodies, rate, duration, name="steady") as got:
        pass
    run = got[0]
    lat = run.latencies()
    p50, p99, worst = percentile(lat, 0.5), percentile(lat, 0.99), lat[-1]
    failed = run.failed()
    late = sorted(r["sent_late_ms"] for r in run.records if r["sent_late_ms"] is not None)
    detail = {
        "requests": len(run.records),
        "non_2xx": len(failed),
        "statuses": sorted({r["status"] for r in failed}),
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": worst,
        "client_send_lag_p99_ms": percentile(late, 0.99),
        "load_average_1m": run.load_average,
    }
    return [
        Row(
            "load_non2xx",
            f"{rate:.0f}/s for {duration:.0f} s on /profile: non-2xx",
            f"{len(failed)} of {len(run.records)}",
            "0",
            not failed,
            detail,
        ),
        Row(
            "load_p99",
            f"{rate:.0f}/s for {duration:.0f} s on /profile: latency from scheduled send",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.0f} ms "
            f"(machine load {run.load_average:.1f})",
            "p99 <= 20 ms",
            p99 <= 20.0,
            detail,
        ),
    ]


def kill_worker(server: Server) -> tuple[float, list[int]]:
    """SIGKILL every BentoML worker of the server; (wall time, pids)."""
    workers = server.workers()
    if not workers:
        raise RuntimeError("no BentoML worker process found under cintel serve")
    now = time.time()
    for w in workers:
        w.kill()
    return now, [w.pid for w in workers]


def worker_kill(
    system: System, server: Server, rate: float, duration: float, kill_at: float
) -> list[Row]:
    """kill -9 of the worker at ``kill_at`` s into the load: recovery, errors, longest wait."""
    bodies = profile_bodies(system)
    with load(system, server, "/profile", bodies, rate, duration, name="kill") as got:
        time.sleep(kill_at)
        killed_at, pids = kill_worker(server)
    run = got[0]
    offset = killed_at - run.start
    after = [r for r in run.records if r["due"] >= offset]
    first_ok = min(
        (r["due"] + r["latency_ms"] / 1000 for r in after if 200 <= r["status"] < 300),
        default=math.inf,
    )
    # serving again: from the first request after the kill that answered, every one did
    statuses = [(r["due"], 200 <= r["status"] < 300) for r in sorted(after, key=lambda r: r["due"])]
    last_bad = max((due for due, good in statuses if not good), default=offset)
    recovery_first = first_ok - offset
    # still failing at the end of the load: not serving again within it
    ended_bad = bool(statuses) and not statuses[-1][1]
    recovery_all = math.inf if ended_bad else max(0.0, last_bad - offset)
    failed = run.failed()
    longest = max(r["latency_ms"] for r in run.records) / 1000
    detail = {
        "killed_pids": pids,
        "kill_at_s": round(offset, 2),
        "first_2xx_after_kill_s": recovery_first,
        "last_failure_after_kill_s": recovery_all,
        "errors": len(failed),
        "error_statuses": sorted({r["status"] for r in failed}),
        "longest_wait_s": longest,
        "requests": len(run.records),
        "still_ready": server.ready(),
        "load_average_1m": run.load_average,
    }
    recovered = max(recovery_first, recovery_all)
    return [
        Row(
            "kill_recovery",
            "kill -9 of the worker under load: seconds to serving again",
            f"{recovered:.1f} s (first 2xx {recovery_first:.1f} s), {len(failed)} errors",
            "<= 5 s",
            recovered <= 5.0,
            detail,
        ),
        Row(
            "kill_longest_wait",
            "kill -9 of the worker under load: longest wait of any request",
            f"{longest:.1f} s",
            "<= 2 s",
            longest <= 2.0,
            detail,
        ),
    ]


# ---- durability --------------------------------------------------------------------------
def _records(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        for line in path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _offer_ids(server: Server, ids: list[str]) -> list[str]:
    found: list[str] = []
    for cid in ids[:60]:
        r = server.post("/profile", {"customer_id": cid})
        if r.status_code == 200:
            found += [o["offer_id"] for o in r.json().get("offers", [])]
    return sorted(set(found))


def kill_during_logging(system: System, server: Server, rate: float, duration: float) -> list[Row]:
    """SIGKILL the worker while /profile answers are being logged and /feedback stored;
    then every acknowledged record must be on disk. Each request names its own customer, so
    records are matched to acknowledgements by customer id."""
    ids = system.customer_ids()
    random.Random(1).shuffle(ids)
    offers = _offer_ids(server, ids)
    if not offers:
        raise RuntimeError("no offer ids in any answer: cannot send valid feedback")
    n_profile = int(rate * duration)
    n_feedback = int(rate / 5 * duration)
    if n_profile + n_feedback > len(ids):
        raise RuntimeError(f"need {n_profile + n_feedback} customers, have {len(ids)}")
    profile_ids, feedback_ids = ids[:n_profile], ids[n_profile : n_profile + n_feedback]
    fb_bodies = [
        {
            "customer_id": c,
            "offer_id": offers[i % len(offers)],
            "channel": "web",
            "outcome": "shown",
        }
        for i, c in enumerate(feedback_ids)
    ]
    pr_bodies = [{"customer_id": c} for c in profile_ids]
    seen_before = len(_records(system.home / "requests"))
    with (
        load(system, server, "/profile", pr_bodies, rate, duration, name="log-profile") as prof,
        load(system, server, "/feedback", fb_bodies, rate / 5, duration, name="log-fb") as fb,
    ):
        time.sleep(duration * 0.6)
        kill_worker(server)
    server.wait_ready(60)
    time.sleep(3)  # let the new worker's writer catch up with what it answered
    logged = {
        str(r.get("customer_id"))
        for r in _records(system.home / "requests")[seen_before:]
        if r.get("endpoint") == "/profile"
    }
    stored = {str(r.get("customer_id")) for r in _records(system.home / "feedback")}
    acked_profile = {pr_bodies[r["i"]]["customer_id"] for r in prof[0].ok()}
    acked_feedback = {fb_bodies[r["i"]]["customer_id"] for r in fb[0].ok()}
    lost_log = sorted(acked_profile - logged)
    lost_fb = sorted(acked_feedback - stored)
    detail = {
        "profile_acknowledged": len(acked_profile),
        "profile_lost": len(lost_log),
        "feedback_acknowledged": len(acked_feedback),
        "feedback_lost": len(lost_fb),
        "examples_lost": (lost_log + lost_fb)[:5],
    }
    return [
        Row(
            "kill_feedback_lost",
            "SIGKILL during /feedback: acknowledged records lost",
            f"{len(lost_fb)} of {len(acked_feedback)}",
            "0",
            not lost_fb and bool(acked_feedback),
            detail,
        ),
        Row(
            "kill_requestlog_lost",
            "SIGKILL during request logging: acknowledged requests not in the log",
            f"{len(lost_log)} of {len(acked_profile)}",
            "0",
            not lost_log and bool(acked_profile),
            detail,
        ),
    ]
