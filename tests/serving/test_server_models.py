"""A broken champion under a real ``bentoml serve``: never served, tagged, counted on /metrics,
and passed over by ``cintel rollback``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from tests.serving.own_home import broken_copy, own_home
from tests.serving.test_server import READY_TIMEOUT_S, REPO, free_port, wait_for
from training.data.contract import CleanData
from training.mlops import registry
from training.mlops.verify import LOAD_ERROR_TAG
from training.pipeline import train

SWAP_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, Path, CleanData]]:
    with own_home(tmp_path_factory.mktemp("models-home")) as (home, data):
        port = free_port()
        env = {
            **os.environ,
            "CINTEL_HOME": str(home),
            "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
            "CINTEL_POLL_SECONDS": "1",
            "PYTHONPATH": str(REPO),
        }
        env.pop("CINTEL_API_KEY", None)
        log = home / "serve.log"
        cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:Cintel"]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [*cmd, "--host", "127.0.0.1", "--port", str(port)],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                wait_for(
                    lambda: client.get("/readyz").status_code == 200, READY_TIMEOUT_S, "ready", log
                )
                client.log_path = log  # type: ignore[attr-defined]
                yield client, home, data
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def sample(metrics: str, name: str, model: str) -> float | None:
    """The value of ``name{model="..."}`` in a Prometheus text page."""
    found = re.search(rf'^{name}\{{[^}}]*model="{model}"[^}}]*\}} (\S+)$', metrics, re.M)
    return None if found is None else float(found.group(1))


@pytest.mark.slow
def test_a_broken_champion_is_never_served_and_shows_on_metrics(
    served: tuple[httpx.Client, Path, CleanData],
) -> None:
    client, home, data = served
    log = client.log_path  # type: ignore[attr-defined]
    page = client.get("/metrics").text
    for model in ("churn", "propensity", "segments", "clv"):
        assert sample(page, "cintel_model_served_version", model) == 1.0, page[-2000:]
        assert sample(page, "cintel_model_load_failures_total", model) == 0.0
        assert sample(page, "cintel_store_stale", model) == 0.0

    # a corrupt version moved to @champion by hand (as the MLflow UI would): not served
    assert broken_copy("churn", "1") == "2"
    MlflowClient().set_registered_model_alias("cintel-churn", "champion", "2")

    def counted() -> bool:
        text = client.get("/metrics").text
        return sample(text, "cintel_model_load_failures_total", "churn") == 1.0

    wait_for(counted, SWAP_TIMEOUT_S, "churn load failure on /metrics", log)
    status = client.post("/status", json={}).json()
    assert status["versions"]["churn"] == "1" and status["load_failures"]["churn"] == 1
    assert "crashed the process" in status["last_error"] or "Error" in status["last_error"]
    assert LOAD_ERROR_TAG in MlflowClient().get_model_version("cintel-churn", "2").tags
    page = client.get("/metrics").text
    assert sample(page, "cintel_model_served_version", "churn") == 1.0
    cid = _first_id(home)
    answer = client.post("/profile", json={"customer_id": cid}).json()
    assert answer["model_versions"]["churn"] == "1"

    # a good version promoted, then rolled back: the broken one is passed over
    (good,) = train(data, models=["churn"])
    assert good.version == "3"
    if good.decision != "promoted":
        registry.promote("churn", "3")

    def serving(version: str) -> bool:
        return client.post("/status", json={}).json()["versions"]["churn"] == version

    wait_for(lambda: serving("3"), SWAP_TIMEOUT_S, "churn v3 served", log)
    assert sample(client.get("/metrics").text, "cintel_model_served_version", "churn") == 3.0
    assert registry.rollback("churn") == "1"
    wait_for(lambda: serving("1"), SWAP_TIMEOUT_S, "churn v1 served after the rollback", log)
    assert (
        client.post("/profile", json={"customer_id": cid}).json()["model_versions"]["churn"] == "1"
    )
    # the broken version is not retried: still one failure (polled: the multiprocess page
    # was once read without the series while a worker file was being written)
    wait_for(counted, 15.0, "churn load failures still 1", log)


def _first_id(home: Path) -> str:
    import pandas as pd

    return str(pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].iloc[0])
