"""The same tracking/registry API against a real `mlflow server` subprocess on loopback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from training.mlops import registry
from training.mlops.promotion import run_gate
from training.mlops.tracking import configure_tracking, pip_requirements, training_run
from training.settings import Settings, get_settings

pytestmark = pytest.mark.slow  # a real MLflow server: make test-slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Poll ``/health`` until it answers; fail with the server log if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"mlflow server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def tracking_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _mlflow_db_template: Path
) -> Iterator[str]:
    """A real MLflow server (sqlite backend, proxied artifacts in tmp_path); always stopped."""
    shutil.copyfile(_mlflow_db_template, tmp_path / "server.db")  # skip the ~3 s migration
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            start_new_session=True,
        )
    previous_uri = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        wait_healthy(url, proc, log, timeout=180)  # a loaded 2-core box took 72 s
        monkeypatch.setenv("CINTEL_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        get_settings.cache_clear()
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group of the server we started, no other
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        while mlflow.active_run() is not None:
            mlflow.end_run("FAILED")
        mlflow.set_tracking_uri(previous_uri)  # type: ignore[arg-type]
        get_settings.cache_clear()


# Not marked slow: 13-14 s on a quiet 2-core box (server start ~9 s). When other jobs load
# the box, start-up took 25-72 s, hence the generous health timeout.
def test_log_register_promote_through_a_real_server(tracking_server: str, tmp_path: Path) -> None:
    assert configure_tracking() == tracking_server
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]  # fail fast when the server dies
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(50, 3)), columns=["recency", "frequency", "noise"])
    y = (x["recency"] - x["frequency"] > 0).astype(int)
    with training_run("churn"):
        clf = xgb.XGBClassifier(n_estimators=10, max_depth=2, nthread=1).fit(x, y)
        proba = clf.predict_proba(x)[:, 1]
        info = mlflow.xgboost.log_model(
            clf,
            name="model",
            signature=infer_signature(x, proba),
            input_example=x.head(3),  # the gate test-loads it through the server
            pip_requirements=pip_requirements("xgboost"),
        )
    version = str(registry.register_challenger("churn", info.model_uri).version)

    assert run_gate("churn", version, {"roc_auc": 0.9}, None, "roc_auc").promote

    query = "registered-models/alias?name=cintel-churn&alias=champion"
    with urllib.request.urlopen(f"{tracking_server}/api/2.0/mlflow/{query}") as response:
        assert json.load(response)["model_version"]["version"] == version
    loaded = mlflow.xgboost.load_model("models:/cintel-churn@champion")
    np.testing.assert_allclose(loaded.predict_proba(x)[:, 1], proba)
    assert list((tmp_path / "server-artifacts").rglob("model.ubj"))  # proxied, not local
    assert not (tmp_path / "home").exists()  # the embedded store was not touched


def test_a_dead_tracking_server_fails_in_seconds(
    mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")  # nobody there
    get_settings.cache_clear()
    configure_tracking()
    started = time.monotonic()
    with pytest.raises(MlflowException):
        registry.champion_version("churn")
    assert time.monotonic() - started < 20  # MLflow's own defaults retry for minutes
