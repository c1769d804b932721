"""MLflow tracking setup and the logging helpers every model run uses."""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import LifecycleStage, Run
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

from training.settings import Settings, get_settings

REFERENCE_ARTIFACT = "reference/reference.parquet"
INTEGER_HINT = "Hint: Inferred schema contains integer column"  # MLflow's UserWarning

# A dead tracking server should fail in seconds: MLflow's defaults retry for minutes.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
_REMOTE_SCHEMES = {"http", "https", "databricks", "databricks-uc", "uc"}


def model_name(model: str) -> str:
    """``churn`` (or ``cintel-churn``) -> ``cintel-churn``; ValueError for unknown models."""
    from training.tasks import task

    return task(model).registered_name


def pip_requirements(*packages: str) -> list[str]:
    """Pinned ``name==version`` of installed packages for ``log_model(pip_requirements=...)``.

    Passing them skips MLflow's requirement inference, which loads the model in a
    subprocess and costs ~5 s per ``log_model``.
    """
    return [f"{name}=={importlib.metadata.version(name)}" for name in packages]


@contextmanager
def registry_prints_quiet() -> Iterator[None]:
    """MLflow's registry prints ("Successfully registered model", "Created version") are
    silent, like its info logs, while ``MLFLOW_LOGGING_LEVEL`` is WARNING or above (the
    command line's default; ``cintel -v`` shows them)."""
    from mlflow.utils.logging_utils import MLFLOW_LOGGING_STREAM, get_mlflow_log_level

    if get_mlflow_log_level() not in ("WARNING", "ERROR", "CRITICAL"):
        yield
        return
    was = MLFLOW_LOGGING_STREAM.enabled
    MLFLOW_LOGGING_STREAM.enabled = False
    try:
        yield
    finally:
        MLFLOW_LOGGING_STREAM.enabled = was


def is_remote(tracking_uri: str) -> bool:
    """True when the URI names a tracking server that decides artifact locations itself."""
    return urlparse(tracking_uri).scheme in _REMOTE_SCHEMES


def configure_tracking(settings: Settings | None = None) -> str:
    """Point MLflow at the settings' store and return its URI.

    For the embedded sqlite store this creates the folders and migrates a new database
    under a file lock, because several jobs migrating one new file at once crash.
    """
    settings = settings or get_settings()
    for key, value in _HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    uri = settings.tracking_uri
    if not is_remote(uri):
        settings.artifact_root.mkdir(parents=True, exist_ok=True)
        db_path = _sqlite_path(uri)
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            _init_store_once(uri, db_path)
    mlflow.set_tracking_uri(uri)
    return uri


def _sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def _init_store_once(uri: str, db_path: Path) -> None:
    """Create and migrate the sqlite database while holding an exclusive lock."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, first use migrates
        return
    with open(db_path.with_name(db_path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def get_or_create_experiment(name: str, settings: Settings | None = None) -> str:
    """The id of experiment ``name`` (``cintel-<model>``), created when missing.

    On the embedded store the experiment's artifacts go to ``artifact_root/<name>`` (never
    ``./mlruns``); a tracking server chooses the location itself. A deleted experiment of
    the same name is restored rather than shadowed.
    """
    settings = settings or get_settings()
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == LifecycleStage.DELETED:
            client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    location = None
    if not is_remote(mlflow.get_tracking_uri()):
        location = (settings.artifact_root / name).as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=location))
    except MlflowException as exc:  # created concurrently by another job
        if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)


@contextmanager
def training_run(
    model: str, run_name: str | None = None, tags: dict[str, str] | None = None
) -> Iterator[Run]:
    """Start a run in experiment ``cintel-<model>``; an exception marks it FAILED and re-raises.

    Register the model only after this block exits, so a failed training moves no alias.
    """
    experiment_id = get_or_create_experiment(model_name(model))
    run_tags = {"cintel.model": model_name(model), **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=run_tags) as run:
        yield run


def _require_active_run() -> None:
    """Fluent logging would silently start a stray run; refuse instead."""
    if mlflow.active_run() is None:
        raise RuntimeError("no active MLflow run: call this inside `with training_run(...)`")


def log_reference_sample(df: pd.DataFrame, n: int = 5000, seed: int = 0) -> str:
    """Log a seeded sample of ``df`` as ``reference/reference.parquet``; return the path.

    The sample is what monitoring compares live traffic with (5,000 rows keep drift
    tests quiet on stable data), so log the frame the model was trained on, features only.
    """
    _require_active_run()
    if df.empty:
        raise ValueError("reference sample: the DataFrame is empty")
    sample = df.sample(n=min(n, len(df)), random_state=seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(REFERENCE_ARTIFACT).name
        sample.to_parquet(path)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))
    return REFERENCE_ARTIFACT


def log_snapshot_input(
    df: pd.DataFrame,
    as_of: date | datetime | str,
    digest: str | None = None,
    context: str = "training",
    name: str = "snapshot",
) -> None:
    """Log ``df`` as a run input named ``<name>@<as_of>`` with tags ``as_of`` and context.

    ``digest`` should identify the snapshot content (e.g. the snapshot module's hash); when
    None MLflow hashes a sample of the frame. Also sets run tag ``cintel.<context>.as_of``.
    """
    _require_active_run()
    as_of_text = as_of if isinstance(as_of, str) else as_of.isoformat()
    with warnings.catch_warnings():
        # the dataset's schema: its integer columns (customer_id, counts) are what the
        # snapshot holds; "cannot represent missing values" concerns model signatures only
        # (modellog.declared_schema declares those as doubles)
        warnings.filterwarnings("ignore", INTEGER_HINT, UserWarning)
        dataset = from_pandas(df, name=f"{name}@{as_of_text}", digest=digest)
        mlflow.log_input(dataset, context=context, tags={"as_of": as_of_text})
    mlflow.set_tag(f"cintel.{context}.as_of", as_of_text)
