"""A trained, materialized cintel home of its own, for tests that move aliases (the shared
``trained_home`` must keep its champions for the other service tests)."""

from __future__ import annotations

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
