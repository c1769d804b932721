"""`cintel train`'s windows on hand-built dates: the longest label window that fits, the
holdout refusal, stacked origins, and the printed windows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.entry import cli
from training.backtest.windows import plan
from training.data.simulator.simulate import SynthConfig, synthesize, write_synth
from training.pipeline import training_origins
from training.train_windows import plan_train

START = pd.Timestamp("2024-01-01")


def test_full_protocol_when_the_history_allows() -> None:
    w = plan_train(START, pd.Timestamp("2025-01-01"), 90)
    assert w.label_days == 90
    assert w.eval_as_of == pd.Timestamp("2024-10-03")  # 2025-01-01 minus 90 days
    assert w.fit_as_of == pd.Timestamp("2024-07-05")  # minus 90 more
    assert "shorter" not in w.lines()[1]


def test_short_history_trains_on_the_longest_label_window_that_fits() -> None:
    # end 2024-07-01, H = 120: evaluation at 2024-03-03 (62 days after the start), so the
    # training labels are the last 31 of those days and the features the first 31
    w = plan_train(START, pd.Timestamp("2024-07-01"), 120)
    assert (w.eval_as_of, w.label_days) == (pd.Timestamp("2024-03-03"), 31)
    assert w.fit_as_of == pd.Timestamp("2024-02-01")
    assert w.lines() == [
        "training features    [2024-01-01, 2024-02-01)",
        "training labels      [2024-02-01, 2024-03-03)  31 days (shorter than the 120-day "
        "horizon: the history is too short for more; churn probabilities are rescaled to "
        "120 days)",
        "evaluation features  [2024-01-01, 2024-03-03)",
        "evaluation labels    [2024-03-03, 2024-07-01)  120 days",
    ]


def test_too_little_history_names_what_would_work() -> None:
    with pytest.raises(ValueError, match="needs at least 28 days of history before the "
                       "evaluation snapshot at 2024-01-21") as err:  # fmt: skip
        plan_train(START, pd.Timestamp("2024-03-21"), 60)
    assert "--until 2024-03-29 or later" in str(err.value)


def test_a_label_window_in_the_holdout_is_refused() -> None:
    end = pd.Timestamp("2025-01-01")
    with pytest.raises(ValueError, match="run to 2024-12-31, inside the holdout that starts "
                       "on 2024-12-01"):  # fmt: skip
        plan_train(START, end, 90, holdout_from=pd.Timestamp("2024-12-01"))
    assert plan_train(START, end, 90, holdout_from=end).end == end  # touching is fine
    # the backtest: training labels end at the cutoff; the evaluation may be in the holdout
    last = pd.Timestamp("2024-12-31")
    with pytest.raises(ValueError, match="training labels before --cutoff 2024-07-01 run to "
                       "2024-06-30, inside the holdout"):  # fmt: skip
        plan(START, last, pd.Timestamp("2024-07-01"), 90, holdout_from=pd.Timestamp("2024-06-01"))
    assert plan(START, last, pd.Timestamp("2024-07-01"), 90, pd.Timestamp("2024-07-01")).label_days


def test_stacked_origins_are_label_windows_apart_with_history_before_each() -> None:
    w = plan_train(START, pd.Timestamp("2025-01-01"), 90)
    # 2024-07-05, 2024-04-06, 2024-01-07 (6 days of history: dropped)
    assert training_origins(w, 4) == [pd.Timestamp("2024-07-05"), pd.Timestamp("2024-04-06")]
    assert training_origins(w, 1) == [w.fit_as_of]
    b = plan(START, pd.Timestamp("2024-12-31"), pd.Timestamp("2024-10-01"), 90, origins=3)
    assert b.fit_origins == [pd.Timestamp("2024-07-03"), pd.Timestamp("2024-04-04")]
    assert "stacked origins    2024-04-04" in b.lines()[2]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    write_synth(
        synthesize(SynthConfig(n_customers=3000, start="2024-01-01", end="2024-06-30", seed=2)),
        folder,
    )
    return folder


def test_train_refuses_a_holdout_overlap_before_any_work(data_dir: Path, tmp_path: Path) -> None:
    args = ["train", "--data", str(data_dir), "--models", "churn", "--holdout-from", "2024-06-01"]
    result = CliRunner().invoke(cli, args, env={"CINTEL_HOME": str(tmp_path / "home")})
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "inside the holdout that starts on 2024-06-01" in result.output
    assert not (tmp_path / "home" / "mlflow" / "mlflow.db").exists()  # nothing logged


def test_train_prints_its_windows(data_dir: Path, mlflow_home: object) -> None:
    # about 181 days of data, H = 90: the training labels take the ~45 days that fit
    args = ["train", "--data", str(data_dir), "--models", "churn", "--horizon-days", "90"]
    result = CliRunner().invoke(cli, [*args, "--until", "2024-06-30"])
    assert result.exit_code == 0, result.output
    assert "training features    [2024-01-01, 2024-02-16)" in result.output
    assert "training labels      [2024-02-16, 2024-04-01)  45 days (shorter than" in result.output
    assert "evaluation labels    [2024-04-01, 2024-06-30)  90 days" in result.output
    assert "promoted" in result.output
