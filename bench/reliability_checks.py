"""The reliability suite's measurements (issue 12), each on the running system as a black box.

Every function takes the running ``System`` (and ``Server``) and returns ``Row``s: one
figure, its target, pass or fail. They report what they find; nothing here fixes, retries
or hides a failure. Loads are open-loop (``bench/loadgen.py`` in its own process), bounded
in count and time, and sent to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.reliability_system import REPO, Server, System, free_port, stop_tree, wait_until

LOADGEN = REPO / "bench" / "loadgen.py"
MODELS = ("churn", "propensity", "segments", "clv")
CANARY_ID = "cnry-7Q4ZK2-customer"
CANARY_EMAIL = "cnry.7q4zk2@example.invalid"
LOAD_ERROR_TAG = "serving.load_error"  # the service's tag on a version it cannot load
SCHEMA_CHECKS = frozenset(
    {
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
    }
)


@dataclass
class Row:
    """One line of the table: the figure measured, the target, and whether it is met."""

    key: str
    check: str
    figure: str
    target: str
    passed: bool | None  # None: a figure with no target of its own
    detail: dict[str, Any] = field(default_factory=dict)


# ---- load --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Load:
    """The records of one open-loop run and its wall-clock start."""

    start: float
    records: list[dict[str, Any]]
    load_average: float  # the machine's 1-minute load average as the run ended

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if 200 <= r["status"] < 300]

    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if not 200 <= r["status"] < 300]

    def latencies(self) -> list[float]:
        return sorted(r["latency_ms"] for r in self.records)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k]


@contextmanager
def load(
    system: System,
    server: Server,
    path: str,
    bodies: list[Any],
    rate: float,
    duration: float,
    keep: str = "",
    name: str = "load",
) -> Iterator[list[Load]]:
    """Run bench/loadgen.py in its own process for the ``with`` block; the Load appears
    in the yielded list when the block ends (the block is where faults are injected)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=system.logs))
    (folder / "bodies.json").write_text(json.dumps(bodies))
    cmd = [
        sys.executable,
        str(LOADGEN),
        "--url",
        f"{server.url}{path}",
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--bodies",
        str(folder / "bodies.json"),
        "--out",
        str(folder / "records.jsonl"),
        "--timeout",
        "10",
        "--keep",
        keep,
    ]
    with (folder / "loadgen.log").open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=system.env(), cwd=folder
        )
    out: list[Load] = []
    try:
        yield out
        proc.wait(timeout=duration + 120)  # each request has a 10 s total timeout
    finally:
        if proc.poll() is None:
            stop_tree(proc.pid, grace=2)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed: {(folder / 'loadgen.log').read_text()[-2000:]}")
    lines = (folder / "records.jsonl").read_text().splitlines()
    records = [json.loads(x) for x in lines[1:]]
    out.append(Load(json.loads(lines[0])["start"], records, os.getloadavg()[0]))


def profile_bodies(system: System) -> list[dict[str, Any]]:
    ids = system.customer_ids()
    random.Random(0).shuffle(ids)
    return [{"customer_id": c} for c in ids]


def warm_up(server: Server, ids: list[str]) -> None:
    """Ask for every customer once (the service prepares an answer on first ask)."""
    for i in range(0, len(ids), 500):
        server.post("/profiles", {"customer_ids": ids[i : i + 500]}, timeout=60)


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


# ---- schemathesis ----------------------------------------------------------------------
def _fuzz_once(server: Server, folder: Path, seed: int, max_time: float) -> dict[str, Any]:
    report = folder / f"st-{seed}.ndjson"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.url}/docs.json",
        "--checks",
        "all",
        "--phases",
        "coverage,fuzzing",
        "--continue-on-failure",
        "--no-shrink",
        "--max-examples",
        "1000",
        "--max-time",
        str(max_time),
        "--seed",
        str(seed),
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    with (folder / f"st-{seed}.log").open("wb") as log:
        subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, timeout=max_time + 300, cwd=folder
        )
    cases: dict[str, dict[str, Any]] = {}
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        interactions = recorder.get("interactions") or {}
        checks = recorder.get("checks") or {}
        for case_id, case in (recorder.get("cases") or {}).items():
            inter = interactions.get(case_id)
            if not inter or not inter.get("response"):
                continue
            value = case.get("value", {})
            failed = [c["name"] for c in checks.get(case_id, []) if c.get("status") == "failure"]
            sent = (inter.get("request") or {}).get("headers") or {}
            content_type = sent.get("Content-Type") or sent.get("content-type") or ["-"]
            cases[f"{seed}:{case_id}"] = {
                "op": f"{value.get('method')} {value.get('path')}",
                "status": inter["response"]["status_code"],
                "media_type": content_type[0] if isinstance(content_type, list) else content_type,
                "failed": failed,
            }
    return cases


def fuzz(server: Server, system: System, min_cases: int, max_runs: int = 6) -> list[Row]:
    """schemathesis over /docs.json until at least ``min_cases`` cases got an answer."""
    folder = Path(tempfile.mkdtemp(prefix="schemathesis-", dir=system.logs))
    cases: dict[str, dict[str, Any]] = {}
    seed = 1
    while len(cases) < min_cases and seed <= max_runs:
        server.wait_ready(60)
        cases.update(_fuzz_once(server, folder, seed, max_time=60))
        seed += 1
    five = [c for c in cases.values() if c["status"] >= 500]
    schema = [c for c in cases.values() if SCHEMA_CHECKS & set(c["failed"])]
    others: dict[str, int] = {}
    for c in cases.values():
        for name in set(c["failed"]) - SCHEMA_CHECKS - {"not_a_server_error"}:
            others[name] = others.get(name, 0) + 1

    def where(found: list[dict[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in found:
            key = f"{c['op']} [{c['media_type']}] -> {c['status']}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1])[:12])

    detail = {
        "cases": len(cases),
        "runs": seed - 1,
        "5xx": len(five),
        "5xx_where": where(five),
        "schema_violations": len(schema),
        "schema_violations_where": where(schema),
        "other_check_failures": others,
    }
    enough = len(cases) >= min_cases
    return [
        Row(
            "fuzz_5xx",
            f"schemathesis on /docs.json ({len(cases):,} cases): 5xx answers",
            f"{len(five)}",
            f"0 (in >= {min_cases:,} cases)",
            enough and not five,
            detail,
        ),
        Row(
            "fuzz_schema",
            "schemathesis: answers violating the OpenAPI document",
            f"{len(schema)}",
            "0",
            enough and not schema,
            detail,
        ),
    ]


# ---- registry outage --------------------------------------------------------------------
def start_tracking_server(system: System) -> tuple[subprocess.Popen[bytes], str]:
    """A real ``mlflow server`` over the home's sqlite store, on a free loopback port."""
    port = free_port()
    log = system.logs / "mlflow-server.log"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        system.sqlite_uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log.open("wb") as out:
        env = system.env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no job workers
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=system.root)
    uri = f"http://127.0.0.1:{port}"

    def up() -> bool:
        return httpx.get(f"{uri}/health", timeout=2).status_code == 200

    if not wait_until(up, 90):
        stop_tree(proc.pid)
        raise RuntimeError(f"mlflow server did not start: {log.read_text()[-2000:]}")
    return proc, uri


def registry_outage(system: System, rate: float, duration: float) -> list[Row]:
    """Serve from a tracking server, then make it unreachable for the whole load: hung
    (SIGSTOP: connections accepted, never answered) for the first half, gone (killed:
    connection refused) for the second. Failed requests must be none."""
    tracking, uri = start_tracking_server(system)
    server = system.serve(poll_seconds=1.0, MLFLOW_TRACKING_URI=uri)
    try:
        before = server.status()
        bodies = profile_bodies(system)
        warm_up(server, [b["customer_id"] for b in bodies])
        procs = [psutil.Process(tracking.pid), *psutil.Process(tracking.pid).children(True)]
        with load(system, server, "/profile", bodies, rate, duration, name="registry") as got:
            for p in procs:
                p.suspend()
            time.sleep(duration / 2)
            for p in procs:
                p.kill()
        run = got[0]
        after = server.status()
        ready = server.ready()
    finally:
        server.stop()
        stop_tree(tracking.pid, grace=2)
    failed = run.failed()
    lat = run.latencies()
    detail = {
        "requests": len(run.records),
        "failed": len(failed),
        "statuses": sorted({r["status"] for r in failed}),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1],
        "poll_failures_during_load": (after.get("failures") or 0) - (before.get("failures") or 0),
        "ready_after": ready,
        "versions_after": after.get("versions"),
        "load_average_1m": run.load_average,
    }
    return [
        Row(
            "registry_failed",
            "registry unreachable (hung, then down) for the whole load: failed requests",
            f"{len(failed)} of {len(run.records)} (p99 {detail['p99_ms']:.0f} ms)",
            "0",
            not failed and ready,
            detail,
        )
    ]


# ---- corrupt artifacts -------------------------------------------------------------------
def _corrupt(folder: Path, kind: str) -> None:
    """Damage the booster file of a copied model the way ``kind`` says."""
    target = next(folder.rglob("*.ubj"))
    data = target.read_bytes()
    if kind == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif kind == "zero bytes":
        target.write_bytes(b"")
    elif kind == "random bytes":
        target.write_bytes(random.Random(7).randbytes(len(data)))
    elif kind == "missing file":
        target.unlink()
    else:
        raise ValueError(kind)


LOAD_FAILURE = re.compile(r"^(cintel\w*(?:load|fail|error)\w*)(\{[^}]*\})?\s+([0-9.eE+-]+)$")


def load_failure_metric(text: str) -> float | None:
    """Sum of every cintel_* sample about load failures; None when there is none."""
    values = []
    for line in text.splitlines():
        m = LOAD_FAILURE.match(line.strip())
        if m and ("fail" in m.group(1) or "error" in m.group(1)):
            values.append(float(m.group(3)))
    return sum(values) if values else None


def _client(system: System) -> Any:
    """An MLflow client on the system's registry (tracking and registry URIs both set: a
    client given only a tracking URI looks for the registry in ./mlflow.db)."""
    import mlflow
    from mlflow import MlflowClient

    os.environ["MLFLOW_TRACKING_URI"] = os.environ["MLFLOW_REGISTRY_URI"] = system.sqlite_uri
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    mlflow.set_tracking_uri(system.sqlite_uri)
    mlflow.set_registry_uri(system.sqlite_uri)
    return MlflowClient(tracking_uri=system.sqlite_uri, registry_uri=system.sqlite_uri)


def _score_payload(base: Path) -> dict[str, Any]:
    """One real feature row, from the input example MLflow stored with the models."""
    features: dict[str, Any] = {}
    for example in base.rglob("input_example.json"):
        doc = json.loads(example.read_text())
        row = dict(zip(doc["columns"], doc["data"][0], strict=True))
        for k, v in row.items():
            if k == "customer_id":
                continue
            bad = v is None or (isinstance(v, float) and not math.isfinite(v))
            features[k] = None if bad else v
    return features


def corrupt_artifacts(system: System, server: Server, poll: float) -> list[Row]:
    """Register four broken copies of the churn champion, move @champion to each in turn
    (straight through the registry, past ``cintel promote``'s test-load), watch what is
    served, whether each gets tagged ``serving.load_error`` and counted on /metrics, then
    ``cintel rollback``."""
    from mlflow.artifacts import download_artifacts

    client = _client(system)
    name = "cintel-churn"
    good = str(client.get_model_version_by_alias(name, "champion").version)
    work = system.root / "corrupt"
    base = Path(download_artifacts(f"models:/{name}/{good}", dst_path=str(work / "good")))
    payloads: dict[str, dict[str, Any]] = {}
    for model in MODELS:
        v = client.get_model_version_by_alias(f"cintel-{model}", "champion").version
        got = download_artifacts(f"models:/cintel-{model}/{v}", dst_path=str(work / model))
        payloads[model] = _score_payload(Path(got))
    features = {k: v for p in payloads.values() for k, v in p.items()}
    known = system.customer_ids()[0]
    metric_before = load_failure_metric(server.metrics())
    served: dict[str, int] = {}
    bad_versions: dict[str, str] = {}
    answers = 0
    for kind in ("truncated", "zero bytes", "random bytes", "missing file"):
        folder = work / kind.replace(" ", "-")
        shutil.copytree(base, folder)
        _corrupt(folder, kind)
        version = str(client.create_model_version(name, str(folder)).version)
        bad_versions[kind] = version
        # moved by hand, as a careless operator or another tool would: `cintel promote`
        # test-loads a version first and refuses (and tags) a corrupt one, so through it
        # the service would never be asked to load one
        client.set_registered_model_alias(name, "champion", version)
        deadline = time.monotonic() + max(4 * poll, 8.0)
        while time.monotonic() < deadline:
            named = []
            r = server.post("/profile", {"customer_id": known})
            if r.status_code == 200:
                named.append(r.json()["model_versions"].get("churn"))
            r = server.post("/score", {"features": features, "customer_id": "cold-1"})
            if r.status_code == 200:
                named.append(r.json()["model_versions"].get("churn"))
            named.append(str(server.status().get("versions", {}).get("churn")))
            answers += len(named)
            for v in named:
                if v in bad_versions.values():
                    served[v] = served.get(v, 0) + 1
            time.sleep(0.5)
    champion_before_rollback = str(client.get_model_version_by_alias(name, "champion").version)

    def load_errors() -> dict[str, str | None]:
        return {
            v: client.get_model_version(name, v).tags.get(LOAD_ERROR_TAG)
            for v in bad_versions.values()
        }

    # the last one may still be in the service's child test-load: give it time
    wait_until(lambda: all(load_errors().values()), 30)
    tags = load_errors()
    untagged = sorted(v for v, reason in tags.items() if not reason)
    rollback = system.run("rollback", "churn", timeout=120)
    after = client.get_registered_model(name).aliases
    champion_after = str(after.get("champion"))
    metric_after = load_failure_metric(server.metrics())
    # leave the system as it was for the next checks
    if champion_after != good:
        system.run("promote", "churn", good, timeout=120)
    wait_until(lambda: server.status()["versions"].get("churn") == good, 30)
    detail = {
        "good_version": good,
        "corrupt_versions": bad_versions,
        "alias_moved_by": "MlflowClient.set_registered_model_alias (not cintel promote)",
        "load_error_tags": {v: (r or "")[:200] for v, r in tags.items()},
        "champion_before_rollback": champion_before_rollback,
        "rollback_exit_code": rollback.rc,
        "rollback_output": rollback.output.strip()[-300:],
        "champion_after_rollback": champion_after,
        "answers_checked": answers,
        "answers_naming_corrupt": served,
        "metric_before": metric_before,
        "metric_after": metric_after,
    }
    kept = champion_after in bad_versions.values()
    tagged = f"{len(tags) - len(untagged)} of {len(tags)} tagged {LOAD_ERROR_TAG}"
    if metric_before is None and metric_after is None:
        metric_figure, metric_ok = f"missing; {tagged}", False
    else:
        delta = (metric_after or 0) - (metric_before or 0)
        metric_figure, metric_ok = f"+{delta:g}; {tagged}", delta >= 1 and not untagged
    return [
        Row(
            "corrupt_never_served",
            "4 corrupt artifacts at @champion: answers naming one",
            f"{sum(served.values())} of {answers}",
            "0",
            not served,
            detail,
        ),
        Row(
            "corrupt_rollback",
            "then `cintel rollback`: @champion after it",
            f"v{champion_after} ({'corrupt' if kept else 'loads'})",
            "never a corrupt version",
            not kept,
            detail,
        ),
        Row(
            "corrupt_metric",
            "load-failure metric on /metrics; registry tag on each corrupt version",
            metric_figure,
            "incremented; every one tagged",
            metric_ok,
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


# ---- privacy -----------------------------------------------------------------------------
def _bad_requests() -> list[tuple[str, dict[str, Any]]]:
    cid, mail = CANARY_ID, CANARY_EMAIL
    js = {"content-type": "application/json"}
    raw = json.dumps({"customer_id": cid, "email": mail})
    return [
        ("/profile", {"json": {"customer_id": cid, "email": mail}}),
        ("/profile", {"json": {"customer_id": cid}}),
        ("/profile", {"json": {"customer_id": cid, "channel": mail, "context": {"x": mail}}}),
        ("/profiles", {"json": {"customer_ids": [cid, mail], "channel": 7}}),
        ("/score", {"json": {"features": {"email": mail}, "customer_id": cid}}),
        ("/score", {"json": {"features": {"recency_days": mail}, "customer_id": cid}}),
        (
            "/feedback",
            {"json": {"customer_id": cid, "offer_id": mail, "channel": "web", "outcome": mail}},
        ),
        (
            "/feedback",
            {
                "json": {
                    "customer_id": cid,
                    "offer_id": "nope",
                    "channel": "web",
                    "outcome": "shown",
                }
            },
        ),
        ("/profile", {"content": raw[:-3].encode(), "headers": js}),
        ("/profile", {"content": raw.encode(), "headers": {"content-type": "text/plain"}}),
        ("/profile", {"content": raw.encode(), "headers": {"content-type": "multipart/form-data"}}),
    ]


def canary(system: System, server: Server, repeat: int = 5) -> list[Row]:
    """Bad requests carrying a canary customer id and e-mail; count them in every log."""
    statuses: dict[str, int] = {}
    for _ in range(repeat):
        for path, kw in _bad_requests():
            try:
                code = str(server.http.post(path, **kw).status_code)
            except httpx.HTTPError as exc:
                code = type(exc).__name__
            statuses[code] = statuses.get(code, 0) + 1
    time.sleep(3)  # background log writers
    hits: dict[str, int] = {}
    needles = (CANARY_ID.encode(), CANARY_EMAIL.encode())
    for file in system.log_files():
        try:
            data = file.read_bytes()
        except OSError:
            continue
        n = sum(data.count(x) for x in needles)
        if n:
            hits[str(file.relative_to(system.root))] = n
    total = sum(hits.values())
    sent = repeat * len(_bad_requests())
    return [
        Row(
            "canary",
            f"canary id and e-mail in {sent} bad requests: occurrences in all logs",
            f"{total} in {len(hits)} file(s)",
            "0",
            total == 0,
            {"statuses": statuses, "files": hits},
        )
    ]


# ---- concurrency -------------------------------------------------------------------------
def _aliases(system: System) -> dict[str, dict[str, str]]:
    client = _client(system)
    out = {}
    for model in MODELS:
        aliases = client.get_registered_model(f"cintel-{model}").aliases
        out[model] = {k: str(v) for k, v in aliases.items()}
    return out


def _inconsistencies(system: System, server: Server) -> list[str]:
    client = _client(system)
    problems = []
    aliases = _aliases(system)
    for model, named in aliases.items():
        champion = named.get("champion")
        if champion is None:
            problems.append(f"{model}: no @champion")
            continue
        if named.get("previous") == champion:
            problems.append(f"{model}: @previous == @champion (v{champion})")
        for alias, version in named.items():
            mv = client.get_model_version(f"cintel-{model}", version)
            if mv.status != "READY":
                problems.append(f"{model}: @{alias} v{version} is {mv.status}")
    meta = json.loads((system.home / "store" / "meta.json").read_text())
    champions = {m: a.get("champion") for m, a in aliases.items()}
    if meta.get("versions") != champions:
        problems.append(f"store versions {meta.get('versions')} != champions {champions}")

    def follows() -> bool:
        return bool(server.status().get("versions") == champions)

    if not wait_until(follows, 30):
        problems.append(f"served {server.status().get('versions')} != champions {champions}")
    return problems


REFUSED = re.compile(r"another\b.*\bcycle|cycle\b.*\b(lock|already running)")


def concurrent_jobs(system: System, server: Server) -> list[Row]:
    """Two ``cintel train`` at once, then two ``cintel cycle --force`` at once."""
    data = str(system.data)
    trains = [system.start("train", "--data", data, name=f"train-{i}") for i in (1, 2)]
    trained = [system.finish(p, log, timeout=900) for p, log in trains]
    cycles = [system.start("cycle", "--data", data, "--force", name=f"cycle-{i}") for i in (1, 2)]
    cycled = [system.finish(p, log, timeout=900) for p, log in cycles]
    train_errors = [d for d in trained if d.rc != 0 or "Traceback" in d.output]
    refused = [d for d in cycled if d.rc != 0 and REFUSED.search(d.output.lower())]
    cycle_errors = [
        d for d in cycled if d not in refused and (d.rc != 0 or "Traceback" in d.output)
    ]
    problems = _inconsistencies(system, server)
    detail = {
        "train_exit_codes": [d.rc for d in trained],
        "train_seconds": [round(d.seconds) for d in trained],
        "train_error_tails": [d.output.strip()[-600:] for d in train_errors],
        "cycle_exit_codes": [d.rc for d in cycled],
        "cycle_error_tails": [d.output.strip()[-600:] for d in cycle_errors],
        "refused_output": [d.output.strip()[-300:] for d in refused],
        "aliases": _aliases(system),
        "inconsistencies": problems,
    }
    errors = len(train_errors) + len(cycle_errors)
    return [
        Row(
            "concurrent_errors",
            "two `cintel train` and two `cintel cycle` at once: errors",
            f"{errors} (train exits {[d.rc for d in trained]}, cycle exits "
            f"{[d.rc for d in cycled]})",
            "0",
            errors == 0,
            detail,
        ),
        Row(
            "concurrent_aliases",
            "then aliases, store and served versions consistent",
            "yes" if not problems else f"no: {len(problems)} problem(s)",
            "consistent",
            not problems,
            detail,
        ),
        Row(
            "concurrent_cycle_refused",
            "the second cycle refused by the lock",
            f"{len(refused)} of 2 refused",
            "exactly 1",
            len(refused) == 1,
            detail,
        ),
    ]


def stop_row(survivors: list[str]) -> Row:
    return Row(
        "stop_tree",
        "SIGTERM to `cintel serve`: its processes still running 15 s later",
        f"{len(survivors)}",
        "0",
        not survivors,
        {"survivors": survivors},
    )


def environment() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": os.getloadavg()[0],
        "python": sys.version.split()[0],
    }
