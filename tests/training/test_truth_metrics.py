"""`cintel train` on simulated data logs churn and segments against the simulator's truth."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow import MlflowClient

from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.pipeline import train
from training.settings import Settings
from training.tasks import TaskInputs


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, CleanData]:
    sim = synthesize(SynthConfig(n_customers=1500, start="2024-01-01", end="2025-06-30", seed=5))
    return sim.ground_truth, validate(sim.transactions, sim.customers)


@pytest.mark.slow
def test_churn_and_segments_runs_carry_the_truth_figures(
    simulated: tuple[pd.DataFrame, CleanData], mlflow_home: Settings
) -> None:
    truth, data = simulated
    results = train(data, models=["churn", "segments"], inputs=TaskInputs(ground_truth=truth))
    by_model = {r.model: r for r in results}
    churn, segments = by_model["churn"], by_model["segments"]
    # the oracle knows who has dropped out: it ranks better than any model of the history
    assert 0.5 < churn.truth["roc_auc_over_oracle"] < 1.0
    assert churn.truth["oracle_roc_auc"] > 0.9
    assert 0.0 < segments.truth["adjusted_rand_vs_archetypes"] <= 1.0
    for result in (churn, segments):
        version = MlflowClient().get_model_version(f"cintel-{result.model}", result.version)
        logged = MlflowClient().get_run(version.run_id).data.metrics
        for name, value in result.truth.items():
            assert logged[name] == pytest.approx(value)


@pytest.mark.slow
def test_without_the_truth_columns_nothing_is_added(
    simulated: tuple[pd.DataFrame, CleanData], mlflow_home: Settings
) -> None:
    truth, data = simulated
    bare = truth[["customer_id"]]
    (result,) = train(data, models=["churn"], inputs=TaskInputs(ground_truth=bare))
    assert result.truth == {}
