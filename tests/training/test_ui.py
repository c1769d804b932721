"""`cintel ui` serves the embedded store and leaves a real tracking server alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from training.mlops.ui import server_args, ui_command
from training.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_server_args_point_at_the_embedded_store(mlflow_home: Settings) -> None:
    args = server_args("127.0.0.1", 5123, mlflow_home)
    assert args[args.index("--backend-store-uri") + 1] == mlflow_home.tracking_uri
    assert mlflow_home.tracking_uri.endswith("/mlflow/mlflow.db")
    destination = args[args.index("--artifacts-destination") + 1]
    assert destination == mlflow_home.artifact_root.as_uri()
    assert args[args.index("--port") + 1] == "5123"


def test_ui_with_a_tracking_server_only_prints_its_url(
    mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    get_settings.cache_clear()
    assert ui_command() == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9/#/experiments?workflowType=machine_learning" in out


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_ui_stops_mlflow_and_its_uvicorn(mlflow_home: Settings, sig: int) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "CINTEL_HOME": str(mlflow_home.home), "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    cintel = str(Path(sys.executable).parent / "cintel")
    proc = subprocess.Popen([cintel, "ui", "--port", str(port)], env=env, cwd=REPO)
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 90
        while True:
            for child in psutil.Process(proc.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "cintel ui exited early"
            assert time.monotonic() < deadline, "the MLflow UI did not answer in 90 s"
            time.sleep(0.3)
        assert any("uvicorn" in " ".join(p.cmdline()) for p in seen.values())
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in seen.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p.pid for p in seen.values() if _alive(p)]
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # the port is free again
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in seen.values():
            if _alive(p):
                p.kill()


def test_the_links_open_mlflows_model_training_view(monkeypatch: pytest.MonkeyPatch) -> None:
    from training.mlops.ui import MODEL_VIEW, model_view_links

    links = model_view_links("http://127.0.0.1:5000", "7")
    assert links["runs"] == "http://127.0.0.1:5000/#/experiments/7?workflowType=machine_learning"
    assert links["models"].endswith("/#/models?workflowType=machine_learning")
    # the installed MLflow UI reads that parameter (MLflow 3 opens in its GenAI view without)
    import mlflow

    bundle = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    name, value = MODEL_VIEW.split("=")
    assert any(
        f'get("{name}")' in js.read_text() and f'"{value}"' in js.read_text()
        for js in bundle.glob("main.*.js")
    )


def test_the_server_is_quiet_unless_verbose(
    mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CINTEL_VERBOSE", "0")
    quiet = server_args("127.0.0.1", 5123, mlflow_home)
    assert quiet[quiet.index("--uvicorn-opts") + 1] == "--log-level warning --no-access-log"
    assert quiet[quiet.index("--registry-store-uri") + 1] == mlflow_home.tracking_uri
    monkeypatch.setenv("CINTEL_VERBOSE", "1")
    assert "--uvicorn-opts" not in server_args("127.0.0.1", 5123, mlflow_home)
