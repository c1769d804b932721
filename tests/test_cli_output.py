"""The command line's output: results on stdout, progress and messages on stderr, and no
library chatter (warnings, MLflow's info lines, tracebacks) unless `cintel -v`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitoring.entry import cli
from tests.monitoring.dashboard import panel_series
from training.cli.output import VERBOSE_ENV, configure_output

ROOT = Path(__file__).resolve().parents[1]
STARLETTE = "import starlette.middleware.wsgi"  # what `mlflow server` imports (cintel ui)


def _child_stderr(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_results_go_to_stdout_and_nothing_else_to_stderr(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", "--customers", "60", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Simulated 60 customers" in result.stdout
    assert f"wrote {tmp_path / 'transactions.parquet'}" in result.stdout
    assert result.stderr == ""


def test_an_error_goes_to_stderr_alone(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["materialize", "--data", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "error:" in result.stderr and result.stdout == ""


def test_quiet_by_default_in_the_processes_cintel_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    # what an earlier command of this test process set (restored after the test)
    for name in ("PYTHONWARNINGS", VERBOSE_ENV, "MLFLOW_LOGGING_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    assert "StarletteDeprecationWarning" in _child_stderr(STARLETTE)  # the cause, unfixed
    configure_output(verbose=False)
    assert os.environ[VERBOSE_ENV] == "0" and os.environ["MLFLOW_LOGGING_LEVEL"] == "WARNING"
    assert _child_stderr(STARLETTE) == ""
    configure_output(verbose=False)  # idempotent: the rule is not repeated
    assert os.environ["PYTHONWARNINGS"].count("starlette") == 1


def test_verbose_shows_the_libraries_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_output(verbose=False)
    monkeypatch.delenv("PYTHONWARNINGS")
    configure_output(verbose=True)
    assert os.environ[VERBOSE_ENV] == "1" and "MLFLOW_LOGGING_LEVEL" not in os.environ
    assert "StarletteDeprecationWarning" in _child_stderr(STARLETTE)
    result = CliRunner().invoke(cli, ["-v", "synth", "--help"])
    assert result.exit_code == 0 and os.environ[VERBOSE_ENV] == "1"


@pytest.mark.slow
def test_the_demo_steps_print_no_warning_and_no_traceback(tmp_path: Path) -> None:
    """synth, train, materialize and monitor as a newcomer runs them: a clean story."""
    env = {**os.environ, "CINTEL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_LOGGING_LEVEL", VERBOSE_ENV, "PYTHONWARNINGS"):
        env.pop(name, None)
    data = str(tmp_path / "data")
    steps = {
        "synth": (["--customers", "1500", "--out", data], "Simulated 1,500 customers"),
        "train": (["--data", data], "Training summary"),
        "materialize": (["--data", data], "Materialized 1,500 customers"),
        "monitor": (["--data", data], "report:"),
    }
    for step, (args, said) in steps.items():
        done = subprocess.run(
            [sys.executable, "-m", "monitoring.entry", step, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr
        assert said in done.stdout, done.stdout
        for noise in ("Warning", "Traceback", "INFO", "Successfully registered"):
            assert noise not in done.stderr, f"{step}: {done.stderr}"


@pytest.mark.slow
def test_the_whole_demo_prints_no_warning_and_no_traceback(tmp_path: Path) -> None:
    """`cintel demo` end to end (drift, cycle, swap, the closing loop) in a fresh home: the
    story on stdout, and nothing on stderr a newcomer would read as a fault (numpy's
    RuntimeWarnings from degenerate columns among them); and the realised performance the
    demo measured is on the Evidently dashboard."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_LOGGING_LEVEL", VERBOSE_ENV, "PYTHONWARNINGS"):
        env.pop(name, None)
    env["CINTEL_HOME"] = str(tmp_path / "unused")  # the demo uses --home alone
    args = ["demo", "--home", str(tmp_path / "demo"), "--customers", "1000", "--requests", "1000"]
    done = subprocess.run(
        [sys.executable, "-m", "monitoring.entry", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Demo finished" in done.stdout and "Closing the loop" in done.stdout, done.stdout
    for noise in ("Warning", "Traceback"):
        assert noise not in done.stderr, done.stderr
    # the first publish's realised performance is on the Evidently dashboard's panel
    title = "Realised performance of the published champions"
    realised = dict(panel_series(tmp_path / "demo", title))
    assert realised["realised_churn_roc_auc"] and realised["performance_drop"], realised
