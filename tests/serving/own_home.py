"""A trained, materialized cintel home of its own, for tests that move aliases (the shared
``trained_home`` must keep its champions for the other service tests)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest

from serving.batch.materialize import materialize
from serving.settings import ServiceSettings, get_service_settings
from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.pipeline import train
from training.settings import get_settings


def point_service_at(mp: pytest.MonkeyPatch, home: Path) -> None:
    """The environment a service process would have for ``home``: CINTEL_HOME, its sqlite
    MLflow store, no champion polling; the settings caches cleared."""
    mp.setenv("CINTEL_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    mp.setenv("CINTEL_POLL_SECONDS", "0")
    get_service_settings.cache_clear()
    get_settings.cache_clear()


@contextmanager
def own_home(folder: Path, customers: int = 2000) -> Iterator[tuple[Path, CleanData]]:
    """Train all four models into ``folder`` and materialize; the environment points at it
    while the context is open (CINTEL_HOME, no MLFLOW_TRACKING_URI)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(folder))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        sim = synthesize(SynthConfig(n_customers=customers, end="2025-06-30", seed=11))
        data = validate(sim.transactions, sim.customers)
        results = train(data)
        assert all(r.decision == "promoted" for r in results), results
        materialize(data, ServiceSettings(home=folder))
        try:
            yield folder, data
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
            get_settings.cache_clear()
            get_service_settings.cache_clear()


def broken_copy(model: str, version: str, how: str = "truncated") -> str:
    """Register a copy of ``cintel-<model>`` version ``version`` with its XGBoost file broken
    (``truncated`` to a fifth, ``zero`` bytes, ``random`` bytes or ``missing``); returns the
    new version. Nothing else changes: no alias moves, the original stays intact."""
    import tempfile

    import numpy as np
    from mlflow import MlflowClient

    name = f"cintel-{model}"
    client = MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=tmp))
        booster = sorted(local.rglob("*.ubj"))[0]
        data = booster.read_bytes()
        if how == "truncated":
            booster.write_bytes(data[: len(data) // 5])
        elif how == "zero":
            booster.write_bytes(b"")
        elif how == "random":
            booster.write_bytes(np.random.default_rng(0).bytes(len(data)))
        else:
            booster.unlink()
        experiment = client.get_experiment_by_name(name)
        assert experiment is not None
        with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
            mlflow.log_artifacts(str(local), "model")
    return str(mlflow.register_model(f"runs:/{run.info.run_id}/model", name).version)


@contextmanager
def home_beside(
    source: Path, data: CleanData, folder: Path, files: dict[str, str], models: list[str]
) -> Iterator[Path]:
    """A home in ``folder`` with a copy of ``source``'s registry, a data folder written from
    ``data`` plus ``files`` (name -> text, e.g. costs.yaml) and ``models`` trained into it
    (each promoted); yields the data folder with the environment pointing at the home."""
    (folder / "mlflow").mkdir()
    shutil.copyfile(source / "mlflow" / "mlflow.db", folder / "mlflow" / "mlflow.db")
    data_dir = folder / "data"
    data_dir.mkdir()
    data.transactions.to_parquet(data_dir / "transactions.parquet", index=False)
    data.customers.to_parquet(data_dir / "customers.parquet", index=False)
    for name, text in files.items():
        (data_dir / name).write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(folder))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        results = train(data, models=models)
        assert all(r.decision == "promoted" for r in results), results
        try:
            yield data_dir
        finally:
            get_settings.cache_clear()
            get_service_settings.cache_clear()
