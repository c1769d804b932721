"""`cintel backtest` end to end on small simulated data: leak-free, nothing registered,
known relations between the figures, one MLflow run, clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from monitoring.entry import cli
from training.backtest.run import BacktestResult, run_backtest
from training.backtest.tracking import EXPERIMENT
from training.backtest.windows import plan
from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, SynthData, synthesize, write_synth
from training.settings import Settings

CUTOFF, HORIZON = pd.Timestamp("2025-01-01"), 60
MODELS = ("churn", "segments", "clv")


@pytest.fixture(scope="module")
def synth() -> SynthData:
    return synthesize(SynthConfig(n_customers=1000, start="2024-01-01", end="2025-04-30", seed=5))


@pytest.fixture(scope="module")
def data(synth: SynthData) -> CleanData:
    return validate(synth.transactions, synth.customers)


def _windows(data: CleanData):  # type: ignore[no-untyped-def]
    tx = data.transactions
    return plan(tx["ts"].min(), tx["ts"].max(), CUTOFF, HORIZON)


@pytest.fixture(scope="module")
def result(data: CleanData, synth: SynthData) -> BacktestResult:
    return run_backtest(data, [_windows(data)], MODELS, synth.ground_truth)


def test_every_task_and_baseline_is_in_the_table(result: BacktestResult) -> None:
    t = result.cutoffs[0].table
    churn = set(t.loc[(t["task"] == "churn") & (t["metric"] == "roc_auc"), "method"])
    assert churn == {"cintel", "recency", "bgnbd", "mbgnbd", "pareto_nbd", "oracle", "known_rates"}
    clv = set(t.loc[(t["task"] == "clv") & (t["metric"] == "normalized_gini"), "method"])
    assert clv == {"cintel", "bgnbd_gg", "naive_run_rate"}
    for metric in ("pr_auc", "brier", "calibration_error", "auc_over_oracle"):
        assert metric in set(t.loc[t["task"] == "churn", "metric"])
    for metric in ("mae", "decile_mape"):
        assert metric in set(t.loc[t["task"] == "clv", "metric"])
    assert {"holdout_loglik", "contradiction_share"} <= set(t.loc[t["task"] == "alive", "metric"])
    assert "adjusted_rand_vs_archetypes" in set(t["metric"])
    assert t["value"].notna().all()


def test_known_relations_between_the_figures(result: BacktestResult) -> None:
    cut = result.cutoffs[0]
    # the oracle knows who is alive: nothing ranks better
    oracle = cut.value("churn", "roc_auc", "oracle")
    assert all(cut.value("churn", "roc_auc", m) <= oracle for m in ("cintel", "bgnbd", "recency"))
    # knowing the true rates but not who has dropped out: below the oracle, above BG/NBD
    known = cut.value("churn", "roc_auc", "known_rates")
    assert cut.value("churn", "roc_auc", "bgnbd") < known < oracle
    # the purchases table's actual total is the sum of the by-frequency table
    p = cut.purchases
    assert (p["n"] * p["actual"]).sum() == pytest.approx(cut.value("purchases", "total", "actual"))
    # the chosen alive model has the best holdout log-likelihood
    lls = {m: cut.value("alive", "holdout_loglik", m) for m in ("bgnbd", "mbgnbd", "pareto_nbd")}
    assert cut.alive_model == max(lls, key=lls.__getitem__)
    # BG/NBD says every one-time buyer is alive; MBG/NBD does not; no NaN anywhere
    assert cut.value("alive", "share_prob_alive_1", "mbgnbd") == 0.0
    assert cut.value("alive", "share_prob_alive_1", "bgnbd") > 0.0
    assert all(cut.value("alive", "n_nan_prob_alive", m) == 0 for m in ("cintel", "bgnbd"))


@pytest.mark.slow
def test_nothing_after_the_horizon_is_used(
    data: CleanData, synth: SynthData, result: BacktestResult
) -> None:
    end = CUTOFF + pd.Timedelta(days=HORIZON)
    tx = synth.transactions
    cut = validate(tx[tx["ts"] < end + pd.Timedelta(days=1)], synth.customers)
    again = run_backtest(cut, [_windows(data)], MODELS, synth.ground_truth)
    pd.testing.assert_frame_equal(again.cutoffs[0].table, result.cutoffs[0].table)


@pytest.mark.slow
def test_predictions_ignore_the_horizon_itself(data: CleanData, synth: SynthData) -> None:
    """Dropping half the purchases inside the horizon changes the outcomes, not the forecasts."""
    tx = synth.transactions
    inside = (tx["ts"] >= CUTOFF) & (tx["ts"] < CUTOFF + pd.Timedelta(days=HORIZON))
    drop = inside & (tx["customer_id"] % 2 == 0)
    thinner = validate(tx[~drop], synth.customers)
    a = run_backtest(data, [_windows(data)], ("churn", "clv")).cutoffs[0]
    b = run_backtest(thinner, [_windows(data)], ("churn", "clv")).cutoffs[0]
    for task, metric, method in [
        ("churn", "mean_probability", "cintel"),
        ("churn", "mean_probability", "mbgnbd"),
        ("purchases", "total", "cintel"),
        ("purchases", "total", "pareto_nbd"),
    ]:
        assert a.value(task, metric, method) == pytest.approx(b.value(task, metric, method))
    assert b.value("purchases", "total", "actual") < a.value("purchases", "total", "actual")


@pytest.mark.slow
def test_cli_writes_files_logs_one_run_and_registers_nothing(
    synth: SynthData, tmp_path: Path, mlflow_home: Settings
) -> None:
    write_synth(synth, tmp_path / "d")
    out = tmp_path / "out"
    args = ["backtest", "--data", str(tmp_path / "d"), "--horizon-days", str(HORIZON),
            "--models", "churn,clv", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--cutoff", "2024-12-01", "--cutoff", "2025-01-01"])
    assert result.exit_code == 0, result.output
    assert "training labels    [2024-10-02, 2024-12-01)  60 days" in result.output
    assert "±" in result.output  # rolling origin: mean ± std
    table = pd.read_csv(out / "backtest.csv")
    assert list(table.columns) == ["task", "metric", "method", "value"]
    assert set(pd.read_csv(out / "backtest_by_cutoff.csv")["cutoff"]) == {
        "2024-12-01",
        "2025-01-01",
    }
    assert (out / "backtest_summary.csv").exists()
    assert (out / "cutoff-2025-01-01" / "churn_calibration.png").exists()
    client = MlflowClient()
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["cutoff_1.label_days"] == "60"
    assert "churn.roc_auc.cintel" in run.data.metrics
    assert "churn.roc_auc.cintel.std" in run.data.metrics
    assert len(client.get_metric_history(run.info.run_id, "by_cutoff/churn.roc_auc.cintel")) == 2


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--cutoff", "2023-06-01"], "outside the data"),
        (["--cutoff", "2025-04-01"], "past the end of the data"),
        (["--cutoff", "2024-01-10"], "too little history"),
        (["--cutoff", "2025-31-01"], "--cutoff: '2025-31-01' is not a date"),
        (["--models", "churn,magic"], "unknown model 'magic'"),
    ],
)
def test_bad_input_is_one_message_and_a_non_zero_exit(
    synth: SynthData, tmp_path: Path, extra: list[str], needle: str
) -> None:
    write_synth(synth, tmp_path / "d")
    args = ["backtest", "--data", str(tmp_path / "d"), "--horizon-days", str(HORIZON), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert needle in result.output and "Traceback" not in result.output


def test_brier_per_horizon_for_cintel_and_the_btyd_models(result: BacktestResult) -> None:
    from training.backtest.run import brier_horizons

    cut = result.cutoffs[0]
    assert brier_horizons(cut.windows) == [30, 60]  # half the horizon and the horizon (= L)
    for days in (30, 60):
        for method in ("cintel", "bgnbd", "mbgnbd", "pareto_nbd"):
            assert 0 < cut.value("churn", f"brier_{days}d", method) < 0.25
        assert 0 < cut.value("churn", f"rate_{days}d", "actual") < 1
    # at the evaluation horizon the Brier row is the one of the main churn figures
    assert cut.value("churn", "brier_60d", "cintel") == pytest.approx(
        cut.value("churn", "brier", "cintel")
    )


def test_backtest_refuses_training_labels_in_the_holdout(synth: SynthData, tmp_path: Path) -> None:
    write_synth(synth, tmp_path / "d")
    args = ["backtest", "--data", str(tmp_path / "d"), "--horizon-days", str(HORIZON)]
    result = CliRunner().invoke(
        cli, [*args, "--cutoff", "2025-01-01", "--holdout-from", "2024-12-15"]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "run to 2024-12-31, inside the holdout that starts on 2024-12-15" in result.output
