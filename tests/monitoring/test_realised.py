"""Realised performance in the cycle, on a real embedded MLflow and simulated data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from monitoring.cli import cycle
from monitoring.cycle import run_cycle
from monitoring.demo import split_before
from monitoring.policy import PolicyConfig
from serving.batch.materialize import materialize
from serving.settings import ServiceSettings, get_service_settings
from tests.monitoring.dashboard import panel_series
from training.data.io import load_data
from training.data.simulator.simulate import SynthConfig, synthesize, write_synth
from training.pipeline import train
from training.settings import Settings, get_settings

CUT = "2025-04-01"
# drift never decides here (too many windows needed): only the realised figures can
NO_DRIFT = PolicyConfig(consecutive_windows=50, min_rows=500)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """Champions trained and published on 2025-04-01; churn rises after that date."""
    home = tmp_path_factory.mktemp("realised-home")
    data = home / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        sim = synthesize(
            SynthConfig(n_customers=2500, end="2025-09-30", drift="churn", drift_start=CUT, seed=5)
        )
        write_synth(sim, data / "all")
        before = load_data(split_before(data / "all", data / "before", CUT))
        assert all(r.decision == "promoted" for r in train(before))
        materialize(before, ServiceSettings(home=home))
        try:
            yield get_settings(), data
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
            get_settings.cache_clear()
            get_service_settings.cache_clear()


def test_without_a_request_log_the_cycle_judges_the_snapshot_and_exits_0(
    world: tuple[Settings, Path],
) -> None:
    settings, data = world
    assert not settings.request_log_dir.exists()
    args = ["--data", str(data / "before"), "--min-rows", "500"]
    out = CliRunner().invoke(cycle, args)
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "judged the data's latest snapshot" in text
    # published on 2025-04-01 with a 90-day churn horizon: labels need data to 2025-06-29
    assert "not matured yet (needs data to 2025-06-29" in text
    assert "no retrain" in text


def test_matured_figures_are_logged_and_shown(world: tuple[Settings, Path]) -> None:
    settings, data = world
    result = run_cycle(data / "all", policy=NO_DRIFT, settings=settings)
    realised = result.realised
    assert realised is not None and realised.status == "matured", realised
    assert realised.as_of == "2025-04-01" and realised.horizon_days == 90
    for name in ("churn_roc_auc", "churn_pr_auc", "churn_brier", "clv_mae", "clv_decile_mape"):
        assert name in realised.realised and name in realised.training
    assert any(k.startswith("propensity_actual_vs_expected_any__") for k in realised.realised)
    drop = realised.training["churn_roc_auc"] - realised.realised["churn_roc_auc"]
    assert realised.performance_drop == pytest.approx(drop)
    print("realised vs training:", json.dumps(realised.to_dict(), indent=1))
    assert realised.mlflow_run_id is not None
    run = MlflowClient().get_run(realised.mlflow_run_id)
    assert run.data.metrics["realised_churn_roc_auc"] == pytest.approx(
        realised.realised["churn_roc_auc"]
    )
    assert "training_churn_roc_auc" in run.data.metrics
    assert result.monitor is not None
    summary = json.loads((result.monitor.run_dir / "summary.json").read_text())
    assert summary["realised_performance"]["status"] == "matured"
    assert "Realised performance" in (result.monitor.run_dir / "report.html").read_text()
    # and in Evidently's workspace, where the dashboard's realised panel reads them
    panel = dict(panel_series(settings.home, "Realised performance of the published champions"))
    assert panel["realised_churn_roc_auc"][-1] == pytest.approx(realised.realised["churn_roc_auc"])
    assert panel["performance_drop"][-1] == pytest.approx(drop)


@pytest.mark.slow
def test_a_much_lower_realised_auc_retrains(world: tuple[Settings, Path]) -> None:
    settings, data = world
    store = settings.store_dir / "profiles.parquet"
    profiles = pd.read_parquet(store)
    # the published churn ranking turned upside down: what a model that stopped working does
    profiles.assign(churn_probability=1 - profiles["churn_probability"]).to_parquet(store)
    result = run_cycle(data / "all", policy=NO_DRIFT, settings=settings)
    assert result.realised is not None and result.realised.performance_drop is not None
    assert result.realised.performance_drop > NO_DRIFT.max_performance_drop
    assert result.decision.retrain
    assert "realised performance dropped" in result.decision.reason


def test_with_nothing_to_judge_the_cycle_says_so_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No champion yet (so no reference) and no request log: nothing to judge for drift."""
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    try:
        write_synth(
            synthesize(SynthConfig(n_customers=200, end="2025-06-30", seed=2)), tmp_path / "d"
        )
        out = CliRunner().invoke(cycle, ["--data", str(tmp_path / "d"), "--min-rows", "100000"])
        assert out.exit_code == 0, out.output
        text = " ".join(out.output.split())
        assert "nothing to judge for drift: no champion" in text
        assert "waiting: no champion is registered" in text
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        get_settings.cache_clear()
