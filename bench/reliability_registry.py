"""Reliability checks of the registry: unreachable for a whole load; corrupt versions served."""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.reliability_checks import (
    MODELS,
    Row,
    load,
    percentile,
    profile_bodies,
    warm_up,
)
from bench.reliability_system import Server, System, free_port, stop_tree, wait_until

LOAD_ERROR_TAG = "serving.load_error"  # the service's tag on a version it cannot load


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
