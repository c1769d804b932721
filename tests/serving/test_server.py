"""The service under a real ``bentoml serve``: health, answers, metrics, OpenAPI, hot swap."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from serving.batch.materialize import materialize
from serving.settings import ServiceSettings, get_service_settings
from tests.serving.conftest import CANARY_EMAIL, CANARY_ID, send_canary_requests
from training.data.contract import CleanData
from training.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0
SWAP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    """Poll ``check`` until true; fail naming ``what`` with the server log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(f"{what} not within {timeout:.0f} s; server log tail:\n{tail}")


@pytest.fixture(scope="module")
def server(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """``bentoml serve serving.service:Cintel`` on a free loopback port; killed at teardown."""
    home, _ = trained_home
    port = free_port()
    env = {
        **os.environ,
        "CINTEL_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        "CINTEL_POLL_SECONDS": "1",
    }
    env.pop("CINTEL_API_KEY", None)
    log = tmp_path_factory.mktemp("bentoml-serve") / "serve.log"
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:Cintel"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown kills the workers too
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            def ready() -> bool:
                if proc.poll() is not None:
                    pytest.fail(f"bentoml serve exited with {proc.returncode}:\n{log.read_text()}")
                return client.get("/readyz").status_code == 200

            wait_for(ready, READY_TIMEOUT_S, "/readyz 200", log)
            client.log_path = log  # type: ignore[attr-defined]
            yield client
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _known_id(home: Path) -> str:
    return str(pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].iloc[0])


def _profile(server: httpx.Client, cid: str) -> dict[str, Any]:
    r = server.post("/profile", json={"customer_id": cid})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.slow
def test_health_answers_metrics_and_openapi(
    server: httpx.Client, trained_home: tuple[Path, CleanData]
) -> None:
    home, _ = trained_home
    assert server.get("/livez").status_code == 200
    assert server.get("/readyz").status_code == 200
    body = _profile(server, _known_id(home))
    assert set(body["model_versions"]) == {"churn", "propensity", "segments", "clv"}
    assert body["offers"] is not None
    missing = server.post("/profile", json={"customer_id": "no-such-customer"})
    assert missing.status_code == 404 and "not in the online store" in missing.text
    metrics = server.get("/metrics")
    assert metrics.status_code == 200
    assert "bentoml_service_request_total" in metrics.text
    spec = server.get("/docs.json")
    assert spec.status_code == 200 and "/profile" in spec.json()["paths"]


def _counts(server: httpx.Client, metric: str) -> dict[tuple[str, str], float]:
    """``metric`` from /metrics by (endpoint, status), summed over its other labels."""
    out: dict[tuple[str, str], float] = {}
    for labels, value in re.findall(
        rf"^{metric}{{([^}}]*)}} (\S+)$", server.get("/metrics").text, re.M
    ):
        named = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        key = (named["endpoint"], named["http_response_code"])
        out[key] = out.get(key, 0.0) + float(value)
    return out


@pytest.mark.slow
def test_fast_route_requests_are_counted_in_metrics(
    server: httpx.Client, trained_home: tuple[Path, CleanData]
) -> None:
    """POST /profile and /profiles, answered by the guard's fast route (no BentoML server
    header), are counted by BentoML's Prometheus middleware per endpoint and status, with
    their latency."""
    cid = _known_id(trained_home[0])
    names = ("bentoml_service_request_total", "bentoml_service_request_duration_seconds_count")
    before = {m: _counts(server, m) for m in names}
    for _ in range(3):
        r = server.post("/profile", json={"customer_id": cid})
        assert r.status_code == 200 and "BentoML" not in r.headers.get("server", ""), r.headers
    for _ in range(2):
        assert server.post("/profiles", json={"customer_ids": [cid, cid]}).status_code == 200
    assert server.post("/profile", json={"customer_id": "nobody"}).status_code == 404
    for metric in names:
        after = _counts(server, metric)
        delta = {k: v - before[metric].get(k, 0.0) for k, v in after.items()}
        assert delta.get(("/profile", "200")) == 3, (metric, delta)
        assert delta.get(("/profiles", "200")) == 2, (metric, delta)
        assert delta.get(("/profile", "404")) == 1, (metric, delta)


@pytest.mark.slow
def test_client_errors_over_http_are_4xx(server: httpx.Client) -> None:
    """What gave 500 through uvicorn: multipart without boundary, a chunked body over
    CINTEL_MAX_BODY_BYTES; and text/plain is refused."""
    multipart = server.post(
        "/profile", content=b"{}", headers={"content-type": "multipart/form-data"}
    )
    assert multipart.status_code == 415, multipart.text

    def chunks() -> Iterator[bytes]:
        yield b'{"customer_ids": ['
        for _ in range(15):
            yield b'"' + b"x" * 100_000 + b'",'
        yield b'"y"]}'

    chunked = server.post("/profiles", content=chunks())
    assert chunked.status_code == 413, chunked.text
    assert set(chunked.json()) == {"error", "field"}
    plain = server.post("/status", content=b"{}", headers={"content-type": "text/plain"})
    assert plain.status_code == 415


@pytest.mark.slow
def test_bad_requests_leave_no_customer_data_in_any_log(
    server: httpx.Client, trained_home: tuple[Path, CleanData]
) -> None:
    """A canary customer id and email sent in bad requests appear in no log; the app log
    has one line per rejected request and no traceback."""
    home, _ = trained_home
    log: Path = server.log_path  # type: ignore[attr-defined]
    start = log.stat().st_size
    statuses = send_canary_requests(server)
    assert all(400 <= s < 500 for s in statuses), statuses
    time.sleep(1.0)  # the worker's log lines reach the file through a pipe
    written = log.read_bytes()[start:].decode(errors="replace")
    assert written.count("rejected POST ") == len(statuses), written
    assert "rejected POST /profile 404 field=customer_id" in written
    assert "Traceback" not in written
    files = [log, *[p for p in home.rglob("*") if p.suffix in {".jsonl", ".log", ".txt"}]]
    for path in files:
        text = path.read_text(errors="replace")
        assert CANARY_ID not in text and CANARY_EMAIL not in text, path


@pytest.mark.slow
def test_new_champion_is_served_without_restart(
    server: httpx.Client,
    trained_home: tuple[Path, CleanData],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from training.mlops import registry
    from training.pipeline import train

    home, data = trained_home
    monkeypatch.setenv("CINTEL_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    get_service_settings.cache_clear()
    before = server.post("/status", json={}).json()["versions"]["churn"]
    (result,) = train(data, models=["churn"])
    assert result.version is not None and result.version != before
    if result.decision != "promoted":  # the gate may keep the old one: promote by hand
        registry.promote("churn", result.version)
    materialize(data, ServiceSettings(home=home))
    new = str(result.version)
    cid = _known_id(home)

    def swapped() -> bool:
        status = server.post("/status", json={}).json()
        return status["versions"]["churn"] == new and status["store"]["versions"]["churn"] == new

    wait_for(swapped, SWAP_TIMEOUT_S, f"/status naming churn v{new}", server.log_path)  # type: ignore[attr-defined]
    assert _profile(server, cid)["model_versions"]["churn"] == new
    get_settings.cache_clear()
