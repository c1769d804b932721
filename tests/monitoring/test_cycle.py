"""The retraining cycle on a real embedded MLflow: quiet, empty, locked, drifted."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from monitoring.cycle import CycleLockedError, cycle_lock, parse_every, run_cycle
from monitoring.demo import split_before
from monitoring.policy import PolicyConfig
from monitoring.reports import DriftConfig
from serving.batch.materialize import materialize
from serving.settings import ServiceSettings, get_service_settings
from tests.serving.readback import request_record
from training.data.io import load_data
from training.data.simulator.simulate import SynthConfig, synthesize, write_synth
from training.mlops import registry
from training.pipeline import train
from training.settings import Settings, get_settings
from training.tasks import MODELS

from .logwriter import write_requests

POLICY = PolicyConfig(consecutive_windows=1, min_rows=500)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """Champions trained before a product-mix drift; the store materialized then."""
    home = tmp_path_factory.mktemp("cycle-home")
    data = home / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        sim = synthesize(
            SynthConfig(
                n_customers=2500, end="2025-12-31", drift="mix", drift_start="2025-04-01", seed=11
            )
        )
        write_synth(sim, data / "all")
        before = load_data(split_before(data / "all", data / "before", "2025-04-01"))
        assert all(r.decision == "promoted" for r in train(before))
        # two of the optional models get champions (the cycle must retrain those), the
        # prospect model none (too short a history for its cohorts: the cycle leaves it)
        optional = train(before, models=("potential", "churn-partial"))
        assert [r.decision for r in optional] == ["promoted", "promoted"], optional
        materialize(before, ServiceSettings(home=home))
        try:
            yield get_settings(), data
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
            get_settings.cache_clear()
            get_service_settings.cache_clear()


def _log_traffic(settings: Settings, n: int, at: datetime, seed: int) -> None:
    """Requests logged exactly as the service logs them, for customers of the current store."""
    profiles = pd.read_parquet(settings.store_dir / "profiles.parquet")
    versions = json.loads((settings.store_dir / "meta.json").read_text())["versions"]
    rows = profiles.sample(n=n, replace=True, random_state=seed).to_dict("records")
    records = []
    for i, row in enumerate(rows):
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        cid = str(row["customer_id"])
        record = request_record("/profile", clean, cid, versions, 1.0, False)
        record["ts"] = (at + timedelta(milliseconds=i)).isoformat()
        records.append(record)
    write_requests(settings.request_log_dir, records)


def _cycles() -> list:
    exp = MlflowClient().get_experiment_by_name("cintel-cycles")
    return MlflowClient().search_runs([exp.experiment_id]) if exp else []


def test_quiet_traffic_does_not_retrain(world: tuple[Settings, Path]) -> None:
    settings, data = world
    start = datetime.now(UTC)
    _log_traffic(settings, 1500, start, seed=1)
    before = registry.champion_version("churn")
    result = run_cycle(data / "before", policy=POLICY, settings=settings, since=start)
    assert result.monitor is not None and result.monitor.status == "ok"
    assert not result.decision.retrain and "no" in result.decision.reason.lower()
    # the store holds partial-churn and potential scores: the request log carries them as
    # outputs and they are drift-checked as predictions, not counted among the inputs
    summary = result.monitor.summary
    scores = {"churn_partial_probability", "potential_value_12m", "share_of_wallet"}
    assert scores <= set(summary.prediction_drift), summary.prediction_drift
    assert not scores & set(summary.column_drift)
    assert registry.champion_version("churn") == before
    assert _cycles()[0].data.tags["decision"] == "no retrain"


def test_the_cycles_drift_share_is_the_one_the_report_judges_with(
    world: tuple[Settings, Path],
) -> None:
    settings, data = world
    start = datetime.now(UTC) + timedelta(minutes=1)
    _log_traffic(settings, 1200, start, seed=3)
    drift = DriftConfig(drift_share=0.77)
    result = run_cycle(data / "before", policy=POLICY, settings=settings, since=start, drift=drift)
    assert result.monitor is not None and result.monitor.status == "ok"
    assert "< 0.77" in result.monitor.summary.reason
    assert not result.decision.retrain


def test_an_empty_window_is_not_judged_and_changes_nothing(
    world: tuple[Settings, Path],
) -> None:
    settings, data = world
    later = datetime.now(UTC) + timedelta(hours=1)
    result = run_cycle(data / "before", policy=POLICY, settings=settings, since=later)
    assert result.monitor is not None and result.monitor.status == "insufficient_data"
    assert not result.decision.retrain
    assert result.before == result.after


def test_a_second_cycle_is_refused_while_one_runs(world: tuple[Settings, Path]) -> None:
    settings, data = world
    with cycle_lock(settings.home), pytest.raises(CycleLockedError, match="another cintel"):
        run_cycle(data / "before", policy=POLICY, settings=settings)


@pytest.mark.slow
def test_drift_retrains_promotes_and_publishes(world: tuple[Settings, Path]) -> None:
    settings, data = world
    after = load_data(data / "all")
    materialize(after, ServiceSettings(home=settings.home))  # same champions, new customers
    start = datetime.now(UTC) + timedelta(minutes=5)
    _log_traffic(settings, 1500, start, seed=2)
    result = run_cycle(data / "all", policy=POLICY, settings=settings, since=start)
    assert result.monitor is not None and result.monitor.status == "drift"
    assert result.decision.retrain and "drift" in result.decision.reason
    promoted = [r["model"] for r in result.trained if r["decision"] == "promoted"]
    assert "churn" in promoted
    # the optional models with a champion went through their own gates; prospect, without
    # one, was left alone, and the cycle says so
    trained = [r["model"] for r in result.trained]
    assert {"potential", "churn-partial"} <= set(trained) and "prospect" not in trained
    assert result.retrained == [*MODELS, "churn-partial", "potential"]
    assert result.before["prospect"] is None and result.after["prospect"] is None
    assert "left alone: prospect" in result.retrained_text
    for r in result.trained:
        assert r["decision"] in {"promoted", "rejected"} and r["metric"], r
    assert result.after["churn"] != result.before["churn"]
    assert result.materialized
    meta = pd.read_json(settings.store_dir / "meta.json", typ="series")
    assert meta["versions"]["churn"] == result.after["churn"]
    run = _cycles()[0]
    assert run.data.tags["decision"] == "retrain"
    assert run.data.params["after.churn"] == result.after["churn"]
    assert run.data.tags["retrained_models"] == ",".join(result.retrained)
    assert run.data.params["after.potential"] == (result.after["potential"] or "none")


def test_every_parses_durations() -> None:
    assert parse_every("15m") == 900 and parse_every("1d") == 86400
    with pytest.raises(ValueError, match=r"e\.g\. 15m"):
        parse_every("soon")
