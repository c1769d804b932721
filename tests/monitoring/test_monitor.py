"""Monitor runs on a real embedded MLflow: report folders, index page, metrics, reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from monitoring.cycle import monitor_requests
from monitoring.monitor import EXPERIMENT, run_monitor, window_history
from monitoring.reference import load_champion_reference, load_service_reference
from monitoring.reports import DriftConfig
from tests.monitoring.conftest import make_frame
from tests.monitoring.logwriter import request_record, write_requests
from training.mlops import registry
from training.mlops.tracking import log_reference_sample, training_run
from training.settings import Settings

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _small(n: int, seed: int, **kwargs: float) -> pd.DataFrame:
    return make_frame(n, seed, n_features=4, **kwargs)


def test_two_runs_write_folders_index_and_mlflow_metrics(mlflow_home: Settings) -> None:
    reference = _small(2000, 1)
    first = run_monitor(_small(2000, 2), reference, mlflow_home, "daily", now=NOW)
    second = run_monitor(
        _small(2000, 3, churn_shift=0.2),
        reference,
        mlflow_home,
        "daily",
        config=DriftConfig(data_summary=False),
        now=NOW + timedelta(days=1),
    )
    assert (first.status, second.status) == ("ok", "drift")
    for result in (first, second):
        assert {p.name for p in result.run_dir.iterdir()} == {
            "report.html",
            "snapshot.json",
            "summary.json",
        }
        assert result.run_dir.parent == mlflow_home.reports_dir
    assert first.run_dir.name == "20261120T120000Z"
    summary = json.loads((second.run_dir / "summary.json").read_text())
    assert summary["status"] == "drift" and summary["label"] == "daily"
    assert summary["prediction_drift"]["churn_probability"]["drifted"]

    from evidently.core.report import Snapshot  # the saved snapshot loads back

    loaded = Snapshot.load(str(first.run_dir / "snapshot.json"))
    assert loaded.dict()["metrics"]

    index = (mlflow_home.reports_dir / "index.html").read_text()
    assert index.index(second.run_dir.name) < index.index(first.run_dir.name)  # newest first
    assert f'href="{first.run_dir.name}/report.html"' in index

    experiment = MlflowClient().get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    runs = MlflowClient().search_runs([experiment.experiment_id], order_by=["start_time ASC"])
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
    assert {r.info.run_id for r in runs} == {first.mlflow_run_id, second.mlflow_run_id}
    latest = MlflowClient().get_run(second.mlflow_run_id).data
    assert latest.tags["status"] == "drift"
    assert latest.metrics["n_current"] == 2000 and "drift_share" in latest.metrics
    assert latest.metrics["pred_drift.churn_probability"] > 0.1
    assert mlflow.active_run() is None

    history = window_history(mlflow_home.reports_dir, "daily")
    assert [h.status for h in history] == ["ok", "drift"]
    assert history[1].prediction_drift is not None and history[1].prediction_drift > 0.1


def test_insufficient_window_still_leaves_a_readable_record(mlflow_home: Settings) -> None:
    result = run_monitor(_small(10, 1), _small(2000, 2), mlflow_home, "tiny", track=False, now=NOW)
    assert result.status == "insufficient_data" and result.mlflow_run_id is None
    assert {p.name for p in result.run_dir.iterdir()} == {"report.html", "summary.json"}
    assert "only 10 current rows" in (result.run_dir / "report.html").read_text()
    assert "insufficient_data" in (mlflow_home.reports_dir / "index.html").read_text()


def test_no_champion_is_a_clear_lookup_error(mlflow_home: Settings) -> None:
    with pytest.raises(LookupError, match="cintel train"):
        load_champion_reference("churn", mlflow_home)
    with pytest.raises(LookupError, match="cintel train"):
        load_service_reference(settings=mlflow_home)


def _champion_with_reference(model: str, frame: pd.DataFrame) -> None:
    with training_run(model) as run:
        log_reference_sample(frame)
    client = MlflowClient()
    name = f"cintel-{model}"
    client.create_registered_model(name)
    version = client.create_model_version(
        name, f"runs:/{run.info.run_id}/reference", run_id=run.info.run_id
    )
    registry.promote(model, version.version, client, verify=None)  # a reference, no model


def test_champion_reference_is_downloaded_and_joined(mlflow_home: Settings) -> None:
    frame = _small(300, 1)
    _champion_with_reference("churn", frame[["customer_id", "f00", "churn_probability"]])
    _champion_with_reference("clv", frame[["customer_id", "f00", "clv_12m"]])
    churn = load_champion_reference("churn", mlflow_home)
    assert list(churn.columns) == ["customer_id", "f00", "churn_probability"]
    assert len(churn) == 300 and churn.attrs["version"] == "1"
    both = load_service_reference(settings=mlflow_home)
    assert list(both.columns) == ["customer_id", "f00", "churn_probability", "clv_12m"]
    assert len(both) == 300


def _log_frame(settings: Settings, frame: pd.DataFrame, at: datetime, versions: dict) -> None:
    outputs = ["churn_probability", "clv_12m", "segment", "propensity_any__wine"]
    features = [c for c in frame.columns if c not in ("customer_id", *outputs)]
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        record = request_record(
            at + timedelta(milliseconds=i),
            customer_id=int(row["customer_id"]),
            features={k: row[k] for k in features},
            outputs={k: row[k] for k in outputs},
        )
        record["versions"] = versions
        records.append(record)
    write_requests(settings.request_log_dir, records)


def test_requests_answered_before_the_current_publish_are_not_judged(
    mlflow_home: Settings,
) -> None:
    """Right after a retrain the window still holds what the previous publish answered;
    compared with the new publish's reference it looked like drift (37 % in the issue)."""
    old, new = {"churn": "1", "clv": "1"}, {"churn": "2", "clv": "2"}
    store = mlflow_home.store_dir
    store.mkdir(parents=True)
    _small(3000, 1).to_parquet(store / "reference.parquet", index=False)
    (store / "reference.json").write_text(json.dumps({"versions": new, "as_of": "2026-11-20"}))
    now = datetime.now(UTC)
    # before the publish: a customer base the new champions re-scored (different)
    _log_frame(
        mlflow_home,
        _small(2000, 2, shift=1.5, shifted=4, churn_shift=0.3),
        now - timedelta(hours=5),
        old,
    )
    _log_frame(mlflow_home, _small(1500, 3), now - timedelta(hours=1), new)  # since it
    result = monitor_requests(mlflow_home, window_days=7, now=now)
    assert result.summary.n_current == 1500
    assert result.status == "ok", result.summary.reason
    assert "2,000 requests" in result.summary.reason and "churn v2" in result.summary.reason
    saved = json.loads((result.run_dir / "summary.json").read_text())
    assert "left out" in saved["reason"]

    # nothing answered since the publish yet: not judged, instead of a false alarm
    (store / "reference.json").write_text(json.dumps({"versions": {"churn": "3"}}))
    quiet = monitor_requests(mlflow_home, window_days=7, now=now)
    assert quiet.status == "insufficient_data" and quiet.summary.n_current == 0
