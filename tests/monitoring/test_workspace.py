"""Monitoring runs in Evidently's own workspace (``cintel monitor --ui``) and their reports
attached to the MLflow runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from monitoring.monitor import run_monitor
from monitoring.workspace import PROJECT, add_decision, add_realised, workspace_dir
from tests.monitoring.conftest import make_frame
from tests.monitoring.dashboard import panel_series
from training.settings import Settings

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def test_each_judged_window_is_a_run_of_the_workspace_project(mlflow_home: Settings) -> None:
    from evidently.ui.workspace import Workspace

    reference = make_frame(1500, 1, n_features=4)
    first = run_monitor(make_frame(1500, 2, n_features=4), reference, mlflow_home, "daily", now=NOW)
    drifted = make_frame(1500, 3, shift=1.0, shifted=4, churn_shift=0.3, n_features=4)
    later = NOW + timedelta(days=1)
    second = run_monitor(drifted, reference, mlflow_home, "daily", now=later)
    assert (first.status, second.status) == ("ok", "drift")
    too_few = run_monitor(make_frame(50, 4, n_features=4), reference, mlflow_home, "daily")
    assert too_few.status == "insufficient_data"  # no Evidently snapshot: no run

    workspace = Workspace(str(workspace_dir(mlflow_home.home)))
    (project,) = workspace.search_project(PROJECT)
    names = sorted(workspace.get_run(project.id, r).name for r in workspace.list_runs(project.id))
    assert names == ["daily 2026-11-20 12:00 (ok)", "daily 2026-11-21 12:00 (drift)"]
    panels = [p.title for p in project.dashboard.model().panels]
    assert panels[1:] == [
        "Share of drifted columns",
        "Prediction drift per model",
        "Retraining decisions",
        "Realised performance of the published champions",
    ]

    # one series, the inputs' share (a second counter, the predictions', drew a second
    # series under the same legend)
    shares = panel_series(mlflow_home.home, "Share of drifted columns")
    assert shares == [
        ("input columns drifted", [first.summary.drift_share, second.summary.drift_share])
    ]

    page = (second.run_dir / "report.html").read_text()
    assert "cintel drift report: daily, 2026-11-21 12:00 UTC — drift" in page
    assert page.index("cintel-summary") < page.index("Evidently's report of every column")

    # the MLflow run carries the report people open without the UI
    for result in (first, second, too_few):
        assert result.mlflow_run_id is not None
        files = {a.path for a in MlflowClient().list_artifacts(result.mlflow_run_id)}
        assert "report.html" in files


@pytest.mark.slow
def test_monitor_ui_serves_the_workspace(mlflow_home: Settings) -> None:
    reference = make_frame(1500, 1, n_features=4)
    run_monitor(make_frame(1500, 2, n_features=4), reference, mlflow_home, "daily", now=NOW)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "CINTEL_HOME": str(mlflow_home.home), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "monitoring.entry", "monitor", "--ui", "--ui-port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                projects = httpx.get(f"http://127.0.0.1:{port}/api/projects", timeout=2)
                if projects.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "cintel monitor --ui exited early"
            assert time.monotonic() < deadline, "the Evidently UI did not answer in 120 s"
            time.sleep(0.5)
        assert [p["name"] for p in projects.json()] == [PROJECT]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_cycles_decision_is_a_run_beside_the_windows(mlflow_home: Settings) -> None:
    from evidently.ui.workspace import Workspace

    figures = {"drift_share": 0.4, "performance_drop": None}
    add_decision(mlflow_home.home, True, "drift in 2 windows in a row", figures, NOW)
    add_decision(mlflow_home.home, False, "no drift", {"drift_share": float("nan")}, NOW)
    workspace = Workspace(str(workspace_dir(mlflow_home.home)))
    (project,) = workspace.search_project(PROJECT)
    runs = {workspace.get_run(project.id, r).name: r for r in workspace.list_runs(project.id)}
    assert sorted(runs) == [
        "cycle 2026-11-20 12:00: no retrain - no drift",
        "cycle 2026-11-20 12:00: retrain - drift in 2 windows in a row",
    ]
    run = workspace.get_run(project.id, runs[sorted(runs)[1]])
    assert run is not None and "cycle" in run.tags and "retrain" in run.tags
    means = {
        r.metric_value_location.metric.params["column"]: r.value
        for r in run.metric_results.values()
    }
    assert means == {"retrain": 1.0, "drift_share": 0.4}
    decisions = panel_series(mlflow_home.home, "Retraining decisions")
    assert decisions == [("retrain", [1.0, 0.0])]


def test_realised_figures_are_the_realised_panels_points(mlflow_home: Settings) -> None:
    title = "Realised performance of the published champions"
    add_realised(mlflow_home.home, {"realised_churn_roc_auc": 0.81}, "first publish", NOW)
    figures = {"realised_churn_roc_auc": 0.78, "performance_drop": 0.05, "realised_x": None}
    add_realised(mlflow_home.home, figures, "second publish", NOW)
    assert dict(panel_series(mlflow_home.home, title)) == {
        "realised_churn_roc_auc": [0.81, 0.78],
        "performance_drop": [None, 0.05],
    }
    with pytest.raises(ValueError, match="no finite figure"):
        add_realised(mlflow_home.home, {"realised_churn_roc_auc": float("nan")}, "none", NOW)
