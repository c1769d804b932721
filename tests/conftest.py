"""Shared fixtures: a real, embedded MLflow store in a temporary CINTEL_HOME."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient

from training.mlops.tracking import configure_tracking
from training.settings import Settings, get_settings


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


SPARK_CONNECT_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "spark_connect.py"


def _require_spark() -> None:
    """Skip unless pyspark and Java are here (pyspark is imported only in Spark fixtures,
    so the default install, without the spark extra, still collects every test module)."""
    pytest.importorskip("pyspark", reason="the Spark engine needs the optional pyspark extra")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs a Java runtime (java not on PATH)")


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local[2] SparkSession for every Spark test (a JVM start costs ~5-10 s);
    skipped without pyspark or Java."""
    _require_spark()
    from training.spark.session import get_spark

    session = get_spark("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Spark Connect server (local[2]) for the whole run, started on a free port by
    ``scripts/spark_connect.py`` and stopped by it on SIGTERM at the end: its sc:// URL.

    Skipped without pyspark, Java or the Connect client's packages (the spark extra)."""
    _require_spark()
    from pyspark.sql.connect.utils import check_dependencies

    try:
        check_dependencies()
    except ImportError as exc:
        pytest.skip(f"Spark Connect needs the spark extra's client packages: {exc}")
    folder = tmp_path_factory.mktemp("spark-connect")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--port", str(port), "--log", str(folder / "server.log")]
    with (folder / "script.err").open("w") as err:
        script = subprocess.Popen(
            [sys.executable, str(SPARK_CONNECT_SCRIPT), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert script.stdout is not None
    url = script.stdout.readline().strip()  # printed once the port answers
    if not url:
        script.wait()
        why = (folder / "script.err").read_text()
        pytest.fail(f"the Spark Connect server did not start: {why}")
    assert url == f"sc://localhost:{port}"
    try:
        yield url
    finally:
        script.send_signal(signal.SIGTERM)
        try:
            script.wait(timeout=120)
        except subprocess.TimeoutExpired:
            script.kill()
            script.wait()


@pytest.fixture
def spark_connect(spark_connect_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A new Spark Connect session to the test server, from ``get_spark()`` with
    SPARK_REMOTE set and no master, as ``cintel --engine spark`` makes it; stopped after
    the test (a session left open would try to release itself at exit, when the server
    is gone, and retry for minutes).

    pyspark keeps one mode per process: its builder refuses a Connect session while a
    classic SparkContext is live, and while SPARK_CONNECT_MODE_ENABLED is set its column
    functions build Connect columns. For the test the local session is set aside and
    Connect mode is on; both are restored after, so the classic tests run as before."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from training.spark.session import get_spark

    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    monkeypatch.setattr(SparkSession, "_instantiatedSession", None)
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    monkeypatch.setenv("SPARK_REMOTE", spark_connect_url)
    session = get_spark()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(autouse=True)
def _output_environment_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cintel` (training.cli.output) sets these for the processes it starts; each test
    starts from the environment it was given."""
    for name in ("CINTEL_VERBOSE", "MLFLOW_LOGGING_LEVEL", "PYTHONWARNINGS"):
        was = os.environ.get(name)
        monkeypatch.setenv(name, was or "")
        if was is None:
            monkeypatch.delenv(name)
