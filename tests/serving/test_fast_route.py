"""The guard's fast route for POST /profile and /profiles answers exactly as BentoML's route.

Each request is sent twice through the service's ASGI app, once with the fast route
(``CINTEL_FAST_ROUTE=on``, the default) and once through BentoML's handler (``off``):
statuses, bodies (decision ids aside), the request-log lines and the decision records
(their times, ids and latencies aside) must be the same. BentoML's handler adds its
``server`` header to what it answers; the fast route does not, which shows which one ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from serving.settings import get_service_settings
from tests.serving.asgi import service_app
from tests.serving.conftest import known_id

KEY = "fast-route-test-key"
MAX_BATCH = 5


@pytest.fixture
def guarded(service_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of a service with an API key and a small CINTEL_MAX_BATCH."""
    monkeypatch.setenv("CINTEL_API_KEY", KEY)
    monkeypatch.setenv("CINTEL_MAX_BATCH", str(MAX_BATCH))
    monkeypatch.setenv("CINTEL_MAX_BODY_BYTES", "2000")
    get_service_settings.cache_clear()
    with TestClient(app=service_app(), headers={"x-api-key": KEY}) as c:
        for _ in range(100):
            if c.get("/readyz").status_code == 200:
                break
        yield c


def _appended(folder: Path, before: dict[Path, int]) -> list[dict[str, Any]]:
    """Records appended to a log folder since ``before`` (file sizes), times and ids aside."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        text = path.read_bytes()[before.get(path, 0) :].decode()
        for line in text.splitlines():
            record = json.loads(line)
            for volatile in ("ts", "decision_id", "latency_ms"):
                record.pop(volatile, None)
            out.append(record)
    return out


def _sizes(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in folder.glob("*.jsonl")} if folder.exists() else {}


def _send(
    client: TestClient, home: Path, fast: str, monkeypatch: pytest.MonkeyPatch, call: tuple
) -> tuple[int, Any, list, list, str | None]:
    """One request with the fast route ``fast``: status, body, new log and decision lines,
    and the ``server`` header."""
    monkeypatch.setenv("CINTEL_FAST_ROUTE", fast)
    get_service_settings.cache_clear()
    path, kwargs = call
    logs, decisions = home / "requests", home / "decisions"
    before_logs, before_decisions = _sizes(logs), _sizes(decisions)
    r = client.post(path, **kwargs)
    try:
        body = r.json()
    except json.JSONDecodeError:
        body = r.text
    for profile in body.get("profiles", [body]) if isinstance(body, dict) else []:
        if isinstance(profile, dict):
            profile.pop("decision_id", None)
    return (
        r.status_code,
        body,
        _appended(logs, before_logs),
        _appended(decisions, before_decisions),
        r.headers.get("server"),
    )


def _calls(cid: str) -> list[tuple[str, dict[str, Any]]]:
    ctx = {"basket_families": ["wine"], "exclude_offers": ["xs_wine_intro"]}
    raw = {"headers": {"content-type": "application/json"}}
    return [
        ("/profile", {"json": {"customer_id": cid}}),
        ("/profile", {"json": {"customer_id": f"  {cid} ", "channel": "web", "context": ctx}}),
        ("/profiles", {"json": {"customer_ids": [cid, "nobody", cid], "channel": "shop"}}),
        ("/profile", {"content": json.dumps({"customer_id": cid}).encode()}),  # no type
        ("/profile", {"json": {"customer_id": "nobody"}}),  # 404
        ("/profile", {"json": {"customer_id": 7}}),  # 400: wrong type
        ("/profile", {"json": {"customer_id": cid, "email": "a@b.c"}}),  # unknown field
        ("/profile", {"json": {"customer_id": cid, "context": {"basket_families": [1]}}}),
        ("/profile", {"content": b'{"customer_id": ', **raw}),  # malformed
        ("/profile", {"content": b"", **raw}),  # no body: customer_id missing
        ("/profiles", {"json": {"customer_ids": []}}),
        ("/profiles", {"json": {"customer_ids": [cid] * (MAX_BATCH + 1)}}),
        ("/profiles", {"json": {"customer_ids": ["x" * 100] * 30}}),  # 413
        ("/profile", {"content": b"{}", "headers": {"content-type": "text/plain"}}),  # 415
        ("/profile", {"json": {"customer_id": cid}, "headers": {"x-api-key": "wrong"}}),  # 401
    ]


def test_fast_route_answers_as_bentomls_route(
    guarded: TestClient, service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = known_id(service_env)
    statuses = []
    for call in _calls(cid):
        fast = _send(guarded, service_env, "on", monkeypatch, call)
        slow = _send(guarded, service_env, "off", monkeypatch, call)
        assert fast[:4] == slow[:4], call
        statuses.append(fast[0])
        if fast[0] in (200, 400, 404):  # the endpoints' own answers: who answered them
            assert fast[4] is None and slow[4] == "BentoML Service/cintel", call
    assert statuses == [200, 200, 200, 200, 404, *[400] * 7, 413, 415, 401]
    # the answers were logged: one line per customer found, one decision per answer
    _, body, logs, decisions, _ = _send(guarded, service_env, "on", monkeypatch, _calls(cid)[2])
    assert [p["customer_id"] for p in body["profiles"]] == [cid, cid]
    assert [r["customer_id"] for r in logs] == [cid, cid]
    assert [r["customer_id"] for r in decisions] == [cid, cid]
    assert body["not_found"] == ["nobody"]


def test_fast_route_decision_ids_are_unique_per_answer(
    client: TestClient, service_env: Path
) -> None:
    cid = known_id(service_env)
    body = client.post("/profiles", json={"customer_ids": [cid] * 50}).json()
    ids = [p["decision_id"] for p in body["profiles"]]
    assert len(set(ids)) == 50
    assert all(len(d) == 32 and d[12] == "4" and d[16] in "89ab" for d in ids)
