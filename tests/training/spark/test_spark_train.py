"""Churn trained on Spark (xgboost.spark) is as good as the pandas fit, and registers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from training.churn import evaluate, fit
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import Snapshot
from training.pipeline import build_snapshots

if TYPE_CHECKING:
    from training.spark.snapshot import SparkSnapshot

pytestmark = [pytest.mark.spark, pytest.mark.slow]
SYNTH = SynthConfig(n_customers=2500, end="2025-06-30", seed=3)


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = synthesize(SYNTH)
    folder = tmp_path_factory.mktemp("synth-spark-train")
    sim.transactions.to_parquet(folder / "transactions.parquet", index=False)
    sim.customers.to_parquet(folder / "customers.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def snapshots(spark_session, synth_dir: Path) -> tuple[Snapshot, Snapshot, SparkSnapshot]:
    """The pandas training and evaluation snapshots, and the Spark training snapshot."""
    from training.spark.snapshot import build_snapshot_spark

    tx = pd.read_parquet(synth_dir / "transactions.parquet")
    data = validate(tx, pd.read_parquet(synth_dir / "customers.parquet"))
    train_pd, eval_pd = build_snapshots(data, None, 90)
    train_sp = build_snapshot_spark(
        str(synth_dir / "transactions.parquet"),
        str(synth_dir / "customers.parquet"),
        train_pd.as_of,
        90,
        spark=spark_session,
        families=list(train_pd.families),  # the pandas engine keeps the data's order
        channels=list(train_pd.channels),
        require_labels=True,
    )
    return train_pd, eval_pd, train_sp


def test_spark_churn_fit_is_as_good_as_pandas(snapshots) -> None:
    from training.spark.churn import fit_churn_spark

    train_pd, eval_pd, train_sp = snapshots
    model = fit_churn_spark(train_sp, num_workers=2)
    assert model.info["engine"] == "spark"
    assert model.info["n_train"] + model.info["n_valid"] + model.info["n_calib"] == int(
        train_pd.frame["label_churn"].notna().sum()
    )
    assert 1 <= model.info["n_trees"] <= model.config.n_estimators
    spark_auc = evaluate(model, eval_pd)["roc_auc"]
    pandas_auc = evaluate(fit(train_pd), eval_pd)["roc_auc"]
    assert spark_auc > 0.8 and abs(spark_auc - pandas_auc) < 0.03, (spark_auc, pandas_auc)
    # the calibrated probability is still non-decreasing in recency (monotone constraint)
    rows = eval_pd.frame.head(50)
    risk = [
        model.predict_proba(rows.assign(recency_days=rows["recency_days"] + d))
        for d in (0, 30, 120)
    ]
    assert np.all(np.diff(np.vstack(risk), axis=0) >= -1e-12)


def test_spark_propensity_fit_is_as_good_as_pandas(snapshots) -> None:
    from training.propensity import evaluate as evaluate_propensity
    from training.propensity import fit as fit_propensity
    from training.spark.propensity import fit_propensity_spark

    train_pd, eval_pd, train_sp = snapshots
    model = fit_propensity_spark(train_sp, num_workers=2)
    reference = fit_propensity(train_pd)
    # the same boosters are fitted or skipped, on the same customers
    assert sorted(model.boosters_) == sorted(reference.boosters_)
    assert model.skipped_.keys() == reference.skipped_.keys()
    assert model.n_train_ == reference.n_train_
    assert model.design == reference.design
    for booster in model.boosters_.values():
        assert booster.feature_names == model.design.names
        assert 1 <= booster.num_boosted_rounds() <= model.config.n_estimators
    spark_m, pandas_m = evaluate_propensity(model, eval_pd), evaluate_propensity(reference, eval_pd)
    for kind in ("any", "first"):
        got, want = spark_m[f"mean_roc_auc_{kind}"], pandas_m[f"mean_roc_auc_{kind}"]
        assert got > 0.6 and abs(got - want) < 0.03, (kind, got, want)


def test_spark_clv_fit_matches_pandas(snapshots) -> None:
    from training.clv.config import ClvConfig
    from training.clv.fit import fit as fit_clv
    from training.clv.metrics import evaluate as evaluate_clv
    from training.spark.clv import fit_clv_spark

    train_pd, eval_pd, train_sp = snapshots
    model = fit_clv_spark(train_sp, num_workers=2)
    # Spark does not compute the value-per-day features: compare with pandas without them
    assert model.config.rate_features is False
    reference = fit_clv(train_pd, ClvConfig(rate_features=False))
    assert model.info["engine"] == "spark"
    # the BTYD part is fitted on the same buyers with the same code: the same parameters
    for name in ("r", "alpha", "a", "b", "p", "q", "gamma", "margin_rate", "margin_prior"):
        got, want = getattr(model.btyd, name), getattr(reference.btyd, name)
        assert got == pytest.approx(want, rel=1e-6), name
    assert model.encoding == reference.encoding
    n_rows = reference.info["n_train"] + reference.info["n_valid"]
    assert model.info["n_train"] + model.info["n_valid"] == n_rows
    assert model.info["n_negative_targets"] == reference.info["n_negative_targets"]
    assert model.fallback.keys() == reference.fallback.keys()
    # the boosters differ (another validation split, distributed histograms): same quality
    got, want = evaluate_clv(model, eval_pd), evaluate_clv(reference, eval_pd)
    for key in ("normalized_gini_learned", "normalized_gini_btyd"):
        assert abs(got[key] - want[key]) < 0.03, (key, got[key], want[key])
    assert got["normalized_gini"] > 0.5


@pytest.mark.slow
def test_train_engine_spark_registers_every_model(
    spark_session, synth_dir: Path, mlflow_home
) -> None:
    import mlflow
    from click.testing import CliRunner

    from monitoring.entry import cli
    from training.churn.model import ChurnModel
    from training.clv.model import ClvModel
    from training.mlops import registry
    from training.mlops.modellog import download_bundle
    from training.tasks import DEFAULT_MODELS, task

    args = ["train", "--data", str(synth_dir), "--engine", "spark", "--driver-rows", "1000"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for model in ("churn", "propensity", "segments", "clv"):
        assert registry.champion_version(model) == "1", model
    assert (
        ChurnModel.load(download_bundle("churn", "1", mlflow_home.home / "a")).info["engine"]
        == "spark"
    )
    assert (
        ClvModel.load(download_bundle("clv", "1", mlflow_home.home / "b")).info["engine"] == "spark"
    )
    runs = mlflow.search_runs(search_all_experiments=True)
    # the optional models fit on the driver's sample; prospect builds its own tables from
    # the pandas data (signup cohorts), which the Spark engine does not have: skipped
    on_spark = [m for m in DEFAULT_MODELS if not task(m).own_tables]
    assert len(runs) == len(on_spark) and "prospect" not in on_spark
    for model in on_spark:
        assert registry.champion_version(model) == "1", model
    # every run records its sample (at most 1,000 from the larger, evaluation snapshot)
    sample = runs["params.driver_sample_rows"].astype(int)
    total = runs["params.n_train_customers_total"].astype(int)
    assert (sample < total).all() and sample.between(600, 1000).all(), (sample, total)
    assert (runs["params.n_train_customers"].astype(int) == sample).all()
