"""Registry, gate and rollback against a real sqlite MLflow with real XGBoost models."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.metrics import roc_auc_score

from training.mlops import registry
from training.mlops.promotion import run_gate
from training.mlops.tracking import (
    REFERENCE_ARTIFACT,
    log_reference_sample,
    log_snapshot_input,
    pip_requirements,
    training_run,
)
from training.mlops.verify import LOAD_ERROR_TAG
from training.settings import Settings

AS_OF = date(2024, 6, 30)
FLOORS = {"roc_auc": 0.55}


def frame(seed: int, n: int) -> tuple[pd.DataFrame, pd.Series]:
    """Features and a churn label that depends on two of them (plus noise)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(n, 3)), columns=["recency", "frequency", "noise"])
    logit = 2.0 * x["recency"] - 1.5 * x["frequency"] + rng.normal(scale=0.5, size=n)
    return x, (logit > 0).astype(int).rename("churned")


TRAIN = frame(seed=0, n=50)
FRESH = frame(seed=1, n=300)  # out-of-time evaluation data, never trained on


def train(
    labels: pd.Series | None = None, trees: int = 20, depth: int = 2, fail: bool = False
) -> str:
    """Train and log a churn model the way model authors should; return its new version."""
    x, y = TRAIN
    y = y if labels is None else labels
    with training_run("churn", run_name="test") as run:
        mlflow.log_params({"as_of": AS_OF.isoformat(), "trees": trees, "depth": depth})
        log_snapshot_input(x, AS_OF, digest="snap-0001")
        clf = xgb.XGBClassifier(n_estimators=trees, max_depth=depth, nthread=1, random_state=0)
        clf.fit(x, y)
        if fail:
            raise RuntimeError("training blew up")
        proba = clf.predict_proba(x)[:, 1]
        mlflow.log_metric("roc_auc", float(roc_auc_score(TRAIN[1], proba)))
        log_reference_sample(x, n=40)
        info = mlflow.xgboost.log_model(
            clf,
            name="model",
            signature=infer_signature(x, proba),
            input_example=x.head(3),
            pip_requirements=pip_requirements("xgboost", "scikit-learn", "pandas", "numpy"),
        )
    version = registry.register_challenger(
        "churn", info.model_uri, tags={"run_id": run.info.run_id}
    )
    return str(version.version)


def evaluate(version: str) -> dict[str, float]:
    """Honest out-of-time score of a registered version, loaded from the registry."""
    clf = mlflow.xgboost.load_model(f"models:/cintel-churn/{version}")
    x, y = FRESH
    return {"roc_auc": float(roc_auc_score(y, clf.predict_proba(x)[:, 1]))}


def gate(version: str) -> bool:
    """Evaluate challenger and champion on the same fresh data and run the gate.

    The test-load before promotion (a child process per version, seconds each) is left to
    the tests about it."""
    champion = registry.champion_version("churn")
    champion_metrics = evaluate(champion) if champion else None
    decision = run_gate(
        "churn", version, evaluate(version), champion_metrics, "roc_auc", floors=FLOORS, verify=None
    )
    return decision.promote


def aliases() -> dict[str, str]:
    return {
        a: str(v) for a, v in MlflowClient().get_registered_model("cintel-churn").aliases.items()
    }


def tags(version: str) -> dict[str, str]:
    return MlflowClient().get_model_version("cintel-churn", version).tags


@pytest.fixture(autouse=True)
def _no_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading must work without pickle: the XGBoost flavour saves native UBJ."""
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")


def test_first_challenger_is_promoted_and_logged_by_the_conventions(
    mlflow_home: Settings,
) -> None:
    version = train()
    assert aliases() == {"challenger": version}
    assert registry.champion_version("churn") is None

    assert gate(version)
    assert aliases() == {"champion": version}  # promoted: no longer a challenger
    recorded = tags(version)
    assert recorded["gate.decision"] == "promoted"
    assert recorded["gate.metric"] == "roc_auc"
    assert recorded["gate.champion_score"] == "none"
    assert float(recorded["gate.challenger_score"]) > 0.55
    assert "no champion yet; floors passed" in recorded["gate.reason"]

    run = mlflow.get_run(recorded["run_id"])
    assert run.data.params["as_of"] == "2024-06-30"
    assert run.data.tags["cintel.training.as_of"] == "2024-06-30"
    assert run.inputs is not None
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == "snap-0001"
    assert {t.key: t.value for t in dataset_input.tags}["as_of"] == "2024-06-30"
    reference = pd.read_parquet(
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path=REFERENCE_ARTIFACT
        )
    )
    assert len(reference) == 40
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.name == "cintel-churn"
    assert experiment.artifact_location == (mlflow_home.artifact_root / "cintel-churn").as_uri()
    assert list(mlflow_home.artifact_root.glob("cintel-churn/models/*/artifacts/model.ubj"))
    assert not Path("mlruns").exists()


def test_worse_challenger_is_rejected_and_no_alias_moves(mlflow_home: Settings) -> None:
    champion = train()
    assert gate(champion)
    shuffled = TRAIN[1].sample(frac=1.0, random_state=3).reset_index(drop=True)
    worse = train(labels=shuffled)

    assert not gate(worse)
    assert aliases() == {"champion": champion, "challenger": worse}
    recorded = tags(worse)
    assert recorded["gate.decision"] == "rejected"
    assert recorded["gate.champion_version"] == champion
    assert float(recorded["gate.challenger_score"]) < float(recorded["gate.champion_score"])
    assert " < champion " in recorded["gate.reason"]


def test_better_challenger_is_promoted_then_rolled_back(mlflow_home: Settings) -> None:
    weak = train(trees=1, depth=1)
    assert gate(weak)
    strong = train(trees=30, depth=3)
    assert evaluate(strong)["roc_auc"] > evaluate(weak)["roc_auc"]

    assert gate(strong)
    assert aliases() == {"champion": strong, "previous": weak}
    assert tags(strong)["gate.decision"] == "promoted"
    assert "≥ champion" in tags(strong)["gate.reason"]

    assert registry.rollback("churn", verify=None) == weak
    assert aliases() == {"champion": weak}
    assert tags(strong)["rolled_back"] == "true"
    with pytest.raises(LookupError, match="cintel-churn has no earlier champion"):
        registry.rollback("churn", verify=None)

    registry.promote("churn", strong, verify=None)  # an operator can re-promote by hand
    assert aliases() == {"champion": strong, "previous": weak}
    assert "rolled_back" not in tags(strong)  # re-promoted: a rollback target again


def test_failed_training_moves_no_alias(mlflow_home: Settings) -> None:
    champion = train()
    assert gate(champion)
    with pytest.raises(RuntimeError, match="training blew up"):
        train(fail=True)
    assert aliases() == {"champion": champion}
    versions = MlflowClient().search_model_versions("name='cintel-churn'")
    assert [v.version for v in versions] == [int(champion)]
    [failed] = mlflow.search_runs(
        experiment_names=["cintel-churn"],
        filter_string="attributes.status = 'FAILED'",
        output_format="list",
    )
    assert failed.info.status == "FAILED"


def test_clear_errors(mlflow_home: Settings) -> None:
    with pytest.raises(ValueError, match="unknown model 'fraud'"):
        registry.champion_version("fraud")
    with pytest.raises(LookupError, match="registered model cintel-clv does not exist"):
        registry.rollback("clv")
    version = train()
    with pytest.raises(LookupError, match="cintel-churn version 99 does not exist"):
        registry.promote("churn", 99)
    with pytest.raises(LookupError, match="cintel-churn has no earlier champion"):
        registry.rollback("churn", verify=None)
    with pytest.raises(ValueError, match="champion metrics were given but there is no"):
        run_gate("churn", version, {"roc_auc": 0.9}, {"roc_auc": 0.8}, "roc_auc")
    assert gate(version)
    second = train()
    with pytest.raises(ValueError, match="were not given but @champion is version 1"):
        run_gate("churn", second, {"roc_auc": 0.9}, None, "roc_auc")
    with pytest.raises(ValueError, match="version 1 is already @champion"):
        run_gate("churn", version, {"roc_auc": 0.9}, {"roc_auc": 0.9}, "roc_auc")
    assert aliases() == {"champion": version, "challenger": second}


def test_logging_helpers_refuse_to_start_a_stray_run(mlflow_home: Settings) -> None:
    with pytest.raises(RuntimeError, match="no active MLflow run"):
        log_reference_sample(TRAIN[0])
    with pytest.raises(RuntimeError, match="no active MLflow run"):
        log_snapshot_input(TRAIN[0], AS_OF)


def corrupt(version: str, how: str) -> None:
    """Break the stored artifact of ``version``: truncated, zero bytes, random or missing."""
    uri = MlflowClient().get_model_version_download_uri("cintel-churn", version)
    path = Path(uri.removeprefix("file://")) / "model.ubj"
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "zero":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    else:
        path.unlink()


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        # one child process each (seconds): the other three kinds run with the slow tests
        pytest.param("zero", marks=pytest.mark.slow),
        pytest.param("random", marks=pytest.mark.slow),
        pytest.param("missing", marks=pytest.mark.slow),
    ],
)
def test_promote_test_loads_the_target_and_moves_nothing_when_it_fails(
    mlflow_home: Settings, how: str
) -> None:
    good = train()
    assert gate(good)
    broken = train(trees=5)
    corrupt(broken, how)
    with pytest.raises(registry.UnusableVersionError, match="version 2 does not load"):
        registry.promote("churn", broken)
    assert aliases() == {"champion": good, "challenger": broken}
    assert tags(broken)[LOAD_ERROR_TAG]  # the reason, for the gate and rollback
    assert "promoted_at" not in tags(broken)


def test_the_gate_never_promotes_a_version_that_does_not_load(mlflow_home: Settings) -> None:
    good = train()
    assert gate(good)
    broken = train(trees=30, depth=3)
    metrics = evaluate(broken)
    corrupt(broken, "random")
    decision = run_gate("churn", broken, metrics, evaluate(good), "roc_auc", floors=FLOORS)
    assert not decision.promote and "does not load" in decision.reason
    assert aliases() == {"champion": good, "challenger": broken}
    assert tags(broken)["gate.decision"] == "rejected" and tags(broken)[LOAD_ERROR_TAG]
    # tagged once, never selected again, even if a later gate is handed good metrics
    again = run_gate("churn", broken, metrics, evaluate(good), "roc_auc", floors=FLOORS)
    assert not again.promote and LOAD_ERROR_TAG in again.reason


@pytest.mark.slow
def test_rollback_follows_what_loads_not_the_previous_alias(mlflow_home: Settings) -> None:
    first = train(trees=1, depth=1)
    assert gate(first)
    second = train(trees=2, depth=1)
    registry.promote("churn", second, verify=None)
    third = train(trees=3, depth=2)
    registry.promote("churn", third, verify=None)
    assert aliases() == {"champion": third, "previous": second}
    corrupt(second, "truncated")  # broke after it was served (or was never loadable)

    assert registry.rollback("churn") == first  # not @previous: it does not load
    assert aliases() == {"champion": first}
    assert tags(second)[LOAD_ERROR_TAG] and tags(third)["rolled_back"] == "true"
    with pytest.raises(LookupError, match="no earlier champion to roll back to"):
        registry.rollback("churn")
    assert aliases() == {"champion": first}


def test_repeated_rollbacks_walk_back_through_the_champions(mlflow_home: Settings) -> None:
    versions = []
    for trees in (1, 2, 3):
        versions.append(train(trees=trees))
        registry.promote("churn", versions[-1], verify=None)
    assert registry.rollback("churn", verify=None) == versions[1]
    assert aliases() == {"champion": versions[1], "previous": versions[0]}
    # a second rollback is not refused
    assert registry.rollback("churn", verify=None) == versions[0]
    assert aliases() == {"champion": versions[0]}


def test_rollback_skips_a_version_the_service_tagged(mlflow_home: Settings) -> None:
    first, second = train(trees=1), train(trees=2)
    registry.promote("churn", first, verify=None)
    registry.promote("churn", second, verify=None)
    third = train(trees=3)
    registry.promote("churn", third, verify=None)
    MlflowClient().set_model_version_tag("cintel-churn", second, LOAD_ERROR_TAG, "boom")
    assert registry.rollback_candidates("churn") == [first]
    assert registry.rollback("churn", verify=None) == first
