"""Training runs as an engineer reads them in MLflow: a description (what, windows, data
digests) and the challenger's comparison with the champion on the same snapshot."""

from __future__ import annotations

import io

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.mlops.notes import COMPARISON_ARTIFACT, NOTE_TAG, comparison_table
from training.pipeline import build_snapshots, train
from training.settings import Settings


@pytest.fixture(scope="module")
def small() -> CleanData:
    sim = synthesize(SynthConfig(n_customers=1500, start="2024-01-01", end="2025-06-30", seed=4))
    return validate(sim.transactions, sim.customers)


def test_the_table_puts_the_gates_metric_first_with_the_change() -> None:
    table = comparison_table({"brier": 0.1, "roc_auc": 0.8}, {"roc_auc": 0.75}, "roc_auc")
    expected = pd.DataFrame(
        {
            "metric": ["roc_auc", "brier"],
            "challenger": [0.8, 0.1],
            "champion": [0.75, None],
            "change": [0.8 - 0.75, None],
            "gate": [True, False],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def _run(version: str) -> mlflow.entities.Run:
    client = MlflowClient()
    return client.get_run(client.get_model_version("cintel-churn", version).run_id)


def _comparison(run_id: str) -> pd.DataFrame:
    text = mlflow.artifacts.load_text(f"runs:/{run_id}/{COMPARISON_ARTIFACT}")
    return pd.read_csv(io.StringIO(text))


@pytest.mark.slow
def test_runs_describe_themselves_and_the_challenger_shows_the_champion(
    small: CleanData, mlflow_home: Settings
) -> None:
    train(small, models=["churn"])
    first = _run("1")
    note = first.data.tags[NOTE_TAG]
    train_snap, eval_snap = build_snapshots(small, None, 90)
    assert "**cintel-churn** challenger: churn risk with reasons" in note
    assert "snapshot at 2025-01-01" in note and "labels from [2025-01-01, 2025-04-01)" in note
    assert "snapshot at 2025-04-01" in note
    assert f"`{train_snap.digest}`" in note and f"`{eval_snap.digest}`" in note
    assert "**Gate:** promoted: challenger roc_auc" in note and "no champion yet" in note
    assert not [m for m in first.data.metrics if m.startswith("champion_")]
    alone = _comparison(first.info.run_id)
    assert alone["metric"].iloc[0] == "roc_auc" and alone["champion"].isna().all()

    train(small, models=["churn"])  # the same data: v1 re-judged on the same snapshot
    second = _run("2")
    version = MlflowClient().get_model_version("cintel-churn", "2")
    champion_auc = second.data.metrics["champion_roc_auc"]
    assert champion_auc == pytest.approx(float(version.tags["gate.champion_score"]))
    assert {"champion_brier", "champion_pr_auc"} <= set(second.data.metrics)
    table = _comparison(second.info.run_id).set_index("metric")
    assert table.loc["roc_auc", "champion"] == pytest.approx(champion_auc)
    assert table.loc["roc_auc", "challenger"] == pytest.approx(second.data.metrics["roc_auc"])
    assert bool(table.loc["roc_auc", "gate"])
    assert "**Gate:** promoted: challenger roc_auc" in second.data.tags[NOTE_TAG]
    assert "champion" in second.data.tags[NOTE_TAG].split("**Gate:**")[1]
