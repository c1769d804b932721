"""Churn trained on Spark (xgboost.spark) is as good as the pandas fit, and registers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.churn import evaluate, fit
from training.contract import validate
from training.pipeline import build_snapshots
from training.synth import SynthConfig, synthesize

pytestmark = pytest.mark.spark
SYNTH = SynthConfig(n_customers=2500, end="2025-06-30", seed=3)


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = synthesize(SYNTH)
    folder = tmp_path_factory.mktemp("synth-spark-train")
    sim.transactions.to_parquet(folder / "transactions.parquet", index=False)
    sim.customers.to_parquet(folder / "customers.parquet", index=False)
    return folder


def test_spark_churn_fit_is_as_good_as_pandas(spark_session, synth_dir: Path) -> None:
    from training.spark.churn import fit_churn_spark
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
        require_labels=True,
    )
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


@pytest.mark.slow
def test_train_engine_spark_registers_churn(spark_session, synth_dir: Path, mlflow_home) -> None:
    from click.testing import CliRunner

    from monitoring.cli import cli
    from training import registry
    from training.churn.model import ChurnModel
    from training.modellog import download_bundle

    args = ["train", "--data", str(synth_dir), "--models", "churn", "--engine", "spark"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert registry.champion_version("churn") == "1"
    bundle = download_bundle("churn", "1", mlflow_home.home / "dl")
    assert ChurnModel.load(bundle).info["engine"] == "spark"
