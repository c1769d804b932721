"""`cintel train` end to end on a real embedded MLflow: runs, registry, gate, bad input."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.mlops import registry
from training.pipeline import build_snapshots, train
from training.settings import Settings


@pytest.fixture(scope="module")
def small() -> CleanData:
    sim = synthesize(SynthConfig(n_customers=2500, start="2024-01-01", end="2025-06-30", seed=3))
    return validate(sim.transactions, sim.customers)


def _aliases(name: str) -> dict[str, str]:
    return {a: str(v) for a, v in MlflowClient().get_registered_model(name).aliases.items()}


def test_train_logs_registers_and_gates(small: CleanData, mlflow_home: Settings) -> None:
    first = train(small, models=["churn", "segments"])
    assert [r.decision for r in first] == ["promoted", "promoted"]
    assert registry.champion_version("churn") == "1"
    churn = first[0]
    assert churn.metric == "roc_auc" and churn.score is not None and churn.score > 0.7

    version = MlflowClient().get_model_version("cintel-churn", "1")
    run = MlflowClient().get_run(version.run_id)
    assert run.data.params["train_as_of"] == "2025-01-01"
    assert run.data.params["eval_as_of"] == "2025-04-01"
    assert {"roc_auc", "pr_auc", "brier", "capture_top_decile"} <= set(run.data.metrics)
    contexts = {
        t.value for i in run.inputs.dataset_inputs for t in i.tags if t.key == "mlflow.data.context"
    }
    assert contexts == {"training", "evaluation"}
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "report")}
    assert "report/roc.png" in artifacts
    reference = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="reference/reference.parquet"
    )
    ref = pd.read_parquet(reference)
    assert "churn_probability" in ref.columns and "recency_days" in ref.columns
    assert version.tags["gate.decision"] == "promoted"

    # the registered pyfunc scores with the serving code and gives the same probabilities
    train_snap, _ = build_snapshots(small, None, 90)
    features = train_snap.frame[["customer_id", *train_snap.feature_columns]].head(20)
    loaded = mlflow.pyfunc.load_model("models:/cintel-churn@champion")
    got = loaded.predict(features)
    assert got["churn_probability"].between(0, 1).all() and len(got) == 20

    second = train(small, models=["churn"])
    assert second[0].decision == "promoted"  # the same data: a tie within the tolerance
    assert _aliases("cintel-churn") == {"champion": "2", "previous": "1"}


def test_uncovered_history_changes_nothing(small: CleanData, mlflow_home: Settings) -> None:
    # 547 days of data: with H = 530 the evaluation snapshot has 17 days of history before
    # it, too few for 14 days of features and 14 of labels (H = 400 now trains on L = 73)
    with pytest.raises(ValueError, match="needs at least 28 days of history before the "):
        train(small, horizon_days=530, models=["churn"])
    assert registry.champion_version("churn") is None


def test_a_model_that_cannot_train_is_skipped_with_its_reason(
    small: CleanData, mlflow_home: Settings, tmp_path: Path
) -> None:
    few = validate(
        small.transactions[small.transactions["customer_id"] <= 60],
        small.customers[small.customers["customer_id"] <= 60],
    )
    with pytest.raises(ValueError, match="no model could be trained") as info:
        train(few, models=["churn"])
    assert "at least 200" in str(info.value)
    assert registry.champion_version("churn") is None


def test_unknown_model_is_refused_before_any_work(small: CleanData) -> None:
    with pytest.raises(ValueError, match="unknown model 'chrun'"):
        train(small, models=["chrun"])


AS_OF = pd.Timestamp("2025-07-01")  # t0 2025-01-02 (training), t1 2025-04-02 (evaluation)


def _registered() -> list[str]:
    return sorted(m.name for m in MlflowClient().search_registered_models())


def test_every_customer_but_one_churned_registers_nothing(
    small: CleanData, mlflow_home: Settings
) -> None:
    tx = small.transactions
    keep = tx["customer_id"].value_counts().idxmax()
    last = tx[tx["customer_id"] == keep].tail(1).assign(ts=pd.Timestamp("2025-06-30 12:00"))
    after = tx["ts"] >= pd.Timestamp("2025-04-02")
    degenerate = validate(
        pd.concat([tx[~after | (tx["customer_id"] == keep)], last]), small.customers
    )
    with pytest.raises(ValueError, match="no model could be trained") as info:
        train(degenerate, as_of=AS_OF)
    message = str(info.value)
    for model in ("churn", "propensity", "segments", "clv"):
        assert f"{model}: evaluation snapshot at 2025-04-02" in message or (
            model == "propensity" and "propensity: no label has at least 10 positives" in message
        )
    assert "label_churn has 2100 positives and 1 negatives" in message
    assert _registered() == []  # nothing registered, no alias moved


@pytest.mark.slow
def test_a_champion_that_cannot_score_the_new_data_is_judged_on_the_floors(
    small: CleanData, mlflow_home: Settings
) -> None:
    (first,) = train(small, models=["churn"])
    assert first.decision == "promoted"
    tx = small.transactions
    renamed = tx.assign(family=tx["family"].astype(str).replace({"wine": "spirits"}))
    (second,) = train(validate(renamed, small.customers), models=["churn"])
    assert second.version == "2" and second.decision == "promoted"
    assert "champion v1 cannot score this data" in second.reason
    assert "judged on the absolute floors alone; floors passed" in second.reason
    tags = MlflowClient().get_model_version("cintel-churn", "2").tags
    assert tags["gate.basis"] == "floors only" and "fam_" in tags["gate.champion_unusable"]
    assert _aliases("cintel-churn") == {"champion": "2", "previous": "1"}


@pytest.mark.slow
def test_a_corrupt_champion_is_tagged_and_the_challenger_judged_on_the_floors(
    small: CleanData, mlflow_home: Settings
) -> None:
    train(small, models=["churn"])
    uri = MlflowClient().get_model_version_download_uri("cintel-churn", "1")
    [booster] = Path(uri.removeprefix("file://")).rglob("booster.ubj")
    booster.write_bytes(booster.read_bytes()[: booster.stat().st_size // 5])
    (second,) = train(small, models=["churn"])
    assert second.decision == "promoted" and "champion v1 does not load" in second.reason
    assert "serving.load_error" in MlflowClient().get_model_version("cintel-churn", "1").tags
