"""cintel-potential: a hand-built table with known quantiles, the simulator's true wallet,
and the registered model with its truth metrics in MLflow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import Snapshot
from training.pipeline import build_snapshots, train
from training.potential import TRUTH_TARGET, PotentialConfig, PotentialModel, evaluate, fit
from training.potential.metrics import truth_metrics
from training.potential.model import yearly_spend
from training.potential.report import write_artifacts
from training.settings import Settings
from training.tasks import DEFAULT_MODELS, MODELS, TaskInputs


def _hand_built(n: int = 4000) -> Snapshot:
    """Region a spends uniformly in [0, 100) a year, region b in [0, 1000): the 0.9
    quantiles are 90 and 900. A newcomer of 30 days is left out of the fit."""
    rng = np.random.default_rng(0)
    region = np.where(np.arange(n) % 2 == 0, "a", "b")
    spend = rng.uniform(0, 1, n) * np.where(region == "a", 100.0, 1000.0)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "attr_region": region,
            "fam_share__x": rng.uniform(0, 1, n),  # noise the model should ignore
            "spend_365d": spend,
            "tenure_days": np.where(np.arange(n) == 0, 30.0, 400.0),
        }
    )
    return Snapshot(frame, pd.Timestamp("2025-01-01"), 90, False, ("x",), ("store",))


def test_potential_is_the_upper_quantile_of_similar_customers(tmp_path: Path) -> None:
    snap = _hand_built()
    model = fit(snap, PotentialConfig(n_estimators=300))
    out = model.predict_frame(snap.frame)
    raw = model.raw(snap.frame)
    a = snap.frame["attr_region"].eq("a").to_numpy()
    assert np.median(raw[a]) == pytest.approx(90, rel=0.15)
    assert np.median(raw[~a]) == pytest.approx(900, rel=0.15)
    spend = snap.frame["spend_365d"].to_numpy().copy()
    spend[0] *= 365 / 90  # the newcomer's spend as a yearly rate (at least 90 days)
    np.testing.assert_allclose(yearly_spend(snap.frame, 90.0), spend)
    assert (out["potential_value_12m"] >= spend - 1e-9).all()  # never below own spend
    assert out["share_of_wallet"].between(0, 1).all()
    np.testing.assert_allclose(
        out["potential_headroom"], out["potential_value_12m"] - spend, atol=1e-9
    )
    np.testing.assert_allclose(out["share_of_wallet"], spend / out["potential_value_12m"])
    metrics = evaluate(model, snap)
    assert metrics["coverage"] == pytest.approx(0.9, abs=0.05)
    csv, png = write_artifacts(model, snap, tmp_path / "report")
    deciles = pd.read_csv(csv)
    assert deciles["decile"].tolist() == list(range(1, 11)) and png.stat().st_size > 0
    assert deciles["customers"].sum() == int((snap.frame["spend_365d"] > 0).sum())
    assert deciles["potential_value_12m"].is_monotonic_increasing
    model.save(tmp_path / "m")
    again = PotentialModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.predict_frame(snap.frame), out)


def test_no_spend_and_no_potential_is_share_zero() -> None:
    snap = _hand_built()
    model = fit(snap)
    row = snap.frame.head(1).assign(spend_365d=0.0)
    out = model.predict_frame(row)
    assert out["share_of_wallet"].iloc[0] == 0.0
    assert out["potential_headroom"].iloc[0] == out["potential_value_12m"].iloc[0]


def test_fit_refuses_too_few_customers() -> None:
    snap = _hand_built(40)
    with pytest.raises(ValueError, match=r"potential: .* need at least 50"):
        fit(snap)


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, object]:
    sim = synthesize(SynthConfig(n_customers=4000, seed=11))
    return sim.ground_truth, validate(sim.transactions, sim.customers)


def test_share_of_wallet_ranks_like_the_simulators_truth(simulated: tuple) -> None:
    truth, data = simulated
    assert {"true_wallet_12m", "true_share_of_wallet"} <= set(truth.columns)
    assert truth["true_share_of_wallet"].between(0, 1).all()
    train_snap, eval_snap = build_snapshots(data, None, 90)
    model = fit(train_snap)
    figures = truth_metrics(model, eval_snap, truth)
    assert figures["truth_spearman_share_of_wallet"] >= TRUTH_TARGET
    assert figures["truth_spearman_potential_vs_wallet"] > 0.5
    assert 0 < figures["truth_spearman_share_of_wallet_all_buyers"] < 1
    assert truth_metrics(model, eval_snap, truth.drop(columns=["true_wallet_12m"])) == {}


def test_registered_with_truth_metrics(simulated: tuple, mlflow_home: Settings) -> None:
    truth, data = simulated
    assert "potential" in DEFAULT_MODELS and "potential" not in MODELS  # optional
    (result,) = train(data, models=["potential"], inputs=TaskInputs(ground_truth=truth))
    assert result.decision == "promoted" and result.version == "1"
    assert result.truth["truth_spearman_share_of_wallet"] >= TRUTH_TARGET
    version = MlflowClient().get_model_version("cintel-potential", "1")
    metrics = MlflowClient().get_run(version.run_id).data.metrics
    assert metrics["truth_spearman_share_of_wallet"] == pytest.approx(
        result.truth["truth_spearman_share_of_wallet"]
    )
    assert {"pinball_loss_rel", "coverage", "mean_share_of_wallet"} <= set(metrics)


@pytest.mark.slow
def test_train_by_default_warns_when_the_optional_model_cannot_train(
    mlflow_home: Settings, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from monitoring.entry import cli
    from training.data.simulator.simulate import write_synth

    sim = synthesize(SynthConfig(n_customers=2500, start="2024-01-01", end="2025-06-30", seed=3))
    write_synth(sim, tmp_path / "data")
    # 486 churned customers in the training window: every model on the activity labels
    # (churn, segments, clv, potential) is short of 500; propensity still trains
    args = ["train", "--data", str(tmp_path / "data"), "--min-positives", "500"]
    result = CliRunner().invoke(cli, args)
    text = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "warning: optional model potential not trained" in text
    named = text[text.index("not trained: ") :]
    assert "churn (" in named and "clv (" in named and "potential (" not in named
    named_run = CliRunner().invoke(cli, [*args, "--models", "propensity,potential"])
    assert named_run.exit_code == 1 and "not trained: potential (" in " ".join(
        named_run.output.split()
    )
