"""Run the MLflow UI on the same store that training uses (`cintel ui`).

MLflow 3 opens in its GenAI view (traces, prompts); the classic model-training view (runs,
metrics, registered models) is chosen by the ``workflowType=machine_learning`` URL
parameter, read by the UI's JavaScript from the (hash) route's query. The links printed
carry it. Quiet by default: ``mlflow server``'s uvicorn access and start-up lines show with
``cintel -v`` only.
"""

from __future__ import annotations

import os
import sys

from training.cli.output import is_verbose
from training.cli.supervise import run_supervised
from training.mlops.tracking import configure_tracking, is_remote
from training.settings import Settings, get_settings

MODEL_VIEW = "workflowType=machine_learning"


def model_view_links(base: str, experiment_id: str | None = None) -> dict[str, str]:
    """Links into MLflow's model-training view: the churn experiment's runs (or the list of
    experiments before any training) and the registered models."""
    runs = f"#/experiments/{experiment_id}" if experiment_id else "#/experiments"
    return {
        "runs": f"{base}/{runs}?{MODEL_VIEW}",
        "models": f"{base}/#/models?{MODEL_VIEW}",
    }


def _experiment_id(name: str) -> str | None:
    from mlflow import MlflowClient

    found = MlflowClient().get_experiment_by_name(name)
    return None if found is None else str(found.experiment_id)


def server_args(host: str, port: int, settings: Settings) -> list[str]:
    """The ``mlflow server`` command line for the embedded store under ``CINTEL_HOME``."""
    quiet = [] if is_verbose() else ["--uvicorn-opts", "--log-level warning --no-access-log"]
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
        "--registry-store-uri",
        settings.tracking_uri,
        "--workers",
        "1",
        *quiet,
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
        if uri.startswith(("http://", "https://")):
            links = model_view_links(uri.rstrip("/"))  # asks the server nothing
            print(f"  model-training view: {links['runs']}")
        return 0
    links = model_view_links(f"http://{host}:{port}", _experiment_id("cintel-churn"))
    print(f"MLflow UI on http://{host}:{port} (store {uri}); Ctrl+C to stop", flush=True)
    print(f"  model-training view: {links['runs']}", flush=True)
    print(f"  registered models:   {links['models']}", flush=True)
    # GenAI job workers are of no use here and slow the start on a small box
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    return run_supervised(server_args(host, port, settings), env, stop_timeout)
