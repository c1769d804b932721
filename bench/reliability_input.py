"""Reliability checks of bad input: schemathesis over the OpenAPI document; a canary in logs."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.reliability_checks import (
    Row,
)
from bench.reliability_system import Server, System

CANARY_ID = "cnry-7Q4ZK2-customer"
CANARY_EMAIL = "cnry.7q4zk2@example.invalid"
SCHEMA_CHECKS = frozenset(
    {
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
    }
)


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
