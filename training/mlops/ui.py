"""Run the MLflow UI on the same store that training uses (`cintel ui`)."""

from __future__ import annotations

import os
import sys

from training.cli.supervise import run_supervised
from training.mlops.tracking import configure_tracking, is_remote
from training.settings import Settings, get_settings


def server_args(host: str, port: int, settings: Settings) -> list[str]:
    """The ``mlflow server`` command line for the embedded store under ``CINTEL_HOME``."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        settings.tracking_uri,
        "--artifacts-destination",
        settings.artifact_root.as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def ui_command(host: str = "127.0.0.1", port: int = 5000, stop_timeout: float = 10.0) -> int:
    """Serve the MLflow UI until interrupted and return its exit code.

    With ``MLFLOW_TRACKING_URI`` pointing at a server there is nothing to start: the URL is
    printed and 0 returned. Runs logged by training keep their artifact locations under
    ``artifact_root``; experiments created from the UI store artifacts there too. SIGTERM
    or Ctrl-C stops ``mlflow server`` and its uvicorn (``training.cli.supervise``).
    """
    settings = get_settings()
    uri = configure_tracking(settings)
    if is_remote(uri):
        print(f"MLflow tracking server in use: {uri}")
        return 0
    print(f"MLflow UI on http://{host}:{port} (store {uri}); Ctrl+C to stop", flush=True)
    # GenAI job workers are of no use here and slow the start on a small box
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    return run_supervised(server_args(host, port, settings), env, stop_timeout)
