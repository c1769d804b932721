"""The uplift task in `cintel train` on a real embedded MLflow: logged, registered as
cintel-uplift and gated; skipped with its reason (and nothing registered) without a log."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from monitoring.entry import cli
from training.data.snapshot import Snapshot
from training.mlops import registry
from training.pipeline import train, train_one
from training.settings import Settings
from training.tasks import ALL_MODELS, MODELS, TaskInputs, task, task_snapshots

from .synthetic import STORE_AS_OF, Synthetic, decision_records, synthetic, with_response_purchases


def test_uplift_is_one_task_trained_only_when_named() -> None:
    # the default list (what the service and the cycle require) keeps the four models
    assert {"churn", "propensity", "segments", "clv"} <= set(MODELS)
    assert "uplift" in ALL_MODELS and "uplift" not in MODELS
    assert task("cintel-uplift").registered_name == "cintel-uplift"
    assert task("uplift").needs == ("decisions",)


def test_task_snapshots_say_what_is_missing(syn: Synthetic) -> None:
    with pytest.raises(ValueError, match="uplift needs --decisions"):
        task_snapshots("uplift", syn.data, None, TaskInputs())
    with pytest.raises(ValueError, match="pandas engine only"):
        task_snapshots("uplift", None, None, TaskInputs(decisions=Path(".")))


@pytest.mark.slow
def test_logged_registered_and_gated(
    syn: Synthetic, tables: tuple[Snapshot, Snapshot], mlflow_home: Settings
) -> None:
    first = train_one("uplift", syn.data, *tables, tolerance=0.005)
    assert (first.decision, first.metric) == ("promoted", "mean_qini"), first.reason
    assert first.score is not None and first.score > 0.1
    version = MlflowClient().get_model_version("cintel-uplift", "1")
    run = MlflowClient().get_run(version.run_id)
    metrics = run.data.metrics
    assert metrics["qini__bakery"] > metrics["qini_propensity__bakery"]
    assert {"mean_auuc", "qini_above_random", "mean_qini_propensity"} <= set(metrics)
    assert run.data.params["learner"] == "x"
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "report")}
    assert {
        "report/qini_curves.png",
        "report/qini_curves.csv",
        "report/uplift_metrics.csv",
    } <= artifacts
    loaded = mlflow.pyfunc.load_model("models:/cintel-uplift@champion")
    features = tables[1].frame[["customer_id", *tables[1].feature_columns]].head(10)
    assert list(loaded.predict(features).columns) == ["customer_id", "uplift_bakery", "uplift_any"]

    second = train_one("uplift", syn.data, *tables, tolerance=0.005)  # the champion re-judged
    assert second.decision == "promoted" and second.champion_before == "1"
    assert registry.champion_version("uplift") == "2"


def test_without_a_decision_log_nothing_is_registered(
    syn: Synthetic, mlflow_home: Settings, tmp_path: Path
) -> None:
    (tmp_path / "decisions").mkdir()
    with pytest.raises(ValueError, match=r"no model could be trained .*uplift: no decision log"):
        train(syn.data, models=["uplift"], inputs=TaskInputs(decisions=tmp_path / "decisions"))
    assert registry.champion_version("uplift") is None

    runner = CliRunner()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    syn.data.transactions.to_parquet(data_dir / "transactions.parquet")
    syn.data.customers.to_parquet(data_dir / "customers.parquet")
    out = runner.invoke(cli, ["train", "--data", str(data_dir), "--models", "uplift"])
    assert out.exit_code != 0
    assert "no decision log" in out.output and "--decisions" in out.output
    help_text = " ".join(runner.invoke(cli, ["train", "--help"]).output.split())
    assert "--decisions" in help_text and "plus uplift with --decisions" in help_text


def test_cintel_train_uplift_from_a_decision_log(mlflow_home: Settings, tmp_path: Path) -> None:
    """End to end through the outcome join: decision records as the service writes them,
    the responders' purchases in the data folder."""
    pytest.importorskip("training.data.outcomes", reason="the outcome join (issue 14) is not here")
    syn = synthetic(2000, seed=2, end=f"{STORE_AS_OF - pd.Timedelta(days=1):%Y-%m-%d}")
    data_dir, decisions = tmp_path / "data", tmp_path / "decisions"
    data_dir.mkdir()
    decisions.mkdir()
    with_response_purchases(syn).to_parquet(data_dir / "transactions.parquet")
    syn.data.customers.to_parquet(data_dir / "customers.parquet")
    with (decisions / f"{STORE_AS_OF:%Y-%m-%d}.jsonl").open("w") as fh:
        for record in decision_records(syn):
            fh.write(json.dumps(record) + "\n")
    out = CliRunner().invoke(
        cli, ["train", "--data", str(data_dir), "--models", "uplift", "--decisions", str(decisions)]
    )
    assert out.exit_code == 0, out.output
    assert registry.champion_version("uplift") == "1", out.output
    version = MlflowClient().get_model_version("cintel-uplift", "1")
    metrics = MlflowClient().get_run(version.run_id).data.metrics
    assert metrics["mean_qini"] > metrics["mean_qini_propensity"] + 0.1


def test_cintel_train_uplift_reads_the_folders_stated_end(
    mlflow_home: Settings, tmp_path: Path
) -> None:
    """A folder from `cintel simulate-responses` states how far it is complete
    (``cintel.data_end``): its last purchases may come well before the last response window
    ends, and those decisions have matured all the same."""
    from training.data.io import DATA_END_KEY, write_table

    syn = synthetic(2000, seed=2, end=f"{STORE_AS_OF - pd.Timedelta(days=1):%Y-%m-%d}")
    data_dir, decisions = tmp_path / "data", tmp_path / "decisions"
    decisions.mkdir()
    with (decisions / f"{STORE_AS_OF:%Y-%m-%d}.jsonl").open("w") as fh:
        for record in decision_records(syn):
            fh.write(json.dumps(record) + "\n")
    decided = pd.to_datetime(syn.responses["ts"], utc=True).dt.tz_convert(None).max()
    tx = with_response_purchases(syn)
    tx = tx[tx["ts"] < decided + pd.Timedelta(days=10)]  # no purchase in the windows' last days
    args = ["train", "--data", str(data_dir), "--models", "uplift", "--decisions", str(decisions)]

    write_table(tx, data_dir / "transactions.parquet")
    syn.data.customers.to_parquet(data_dir / "customers.parquet")
    out = CliRunner().invoke(cli, args)
    assert out.exit_code != 0 and "no matured outcomes" in out.output, out.output

    stated = {DATA_END_KEY: f"{decided + pd.Timedelta(days=31):%Y-%m-%dT%H:%M:%S}"}
    write_table(tx, data_dir / "transactions.parquet", stated)
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert registry.champion_version("uplift") == "1", out.output
