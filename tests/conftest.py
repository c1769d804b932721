"""Shared fixtures: a real, embedded MLflow store in a temporary CINTEL_HOME."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient

from training.settings import Settings, get_settings
from training.tracking import configure_tracking


@pytest.fixture(scope="session")
def _mlflow_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty sqlite store, built once: migrating a new file costs ~3 s."""
    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments(max_results=1)
    return db


@pytest.fixture
def mlflow_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _mlflow_db_template: Path
) -> Iterator[Settings]:
    """CINTEL_HOME=tmp_path with the embedded sqlite MLflow configured; restored afterwards."""
    previous_uri = os.environ.get("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    db = settings.home.resolve() / "mlflow" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_mlflow_db_template, db)
    configure_tracking(settings)
    try:
        yield settings
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run("FAILED")
        # set_tracking_uri also writes MLFLOW_TRACKING_URI; None unsets both
        mlflow.set_tracking_uri(previous_uri)  # type: ignore[arg-type]
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local[2] SparkSession for every Spark test (a JVM start costs ~5-10 s).

    Skips when pyspark or Java is missing; pyspark is imported only here, so the default
    install (without the spark extra) still collects every test module."""
    pytest.importorskip("pyspark", reason="the Spark engine needs the optional pyspark extra")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs a Java runtime (java not on PATH)")
    from training.spark.session import get_spark

    session = get_spark("local[2]")
    yield session
    session.stop()
