"""`cintel ui` serves the embedded store and leaves a real tracking server alone."""

from __future__ import annotations

import pytest

from training.mlops.ui import server_args, ui_command
from training.settings import Settings, get_settings


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
    assert "http://127.0.0.1:9" in capsys.readouterr().out
