"""``--engine spark`` without pyspark or without Java: one clear message, exit code 1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitoring.entry import cli


def _snapshot(tmp_path: Path, *extra: str):
    args = ["snapshot", "--data", str(tmp_path), "--out", str(tmp_path / "s"), *extra]
    return CliRunner().invoke(cli, args)


def test_engine_spark_without_pyspark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # find_spec then answers None
    result = _snapshot(tmp_path, "--engine", "spark")
    assert result.exit_code == 1
    assert "--engine spark needs pyspark, which is not installed" in result.output
    assert "Traceback" not in result.output


def test_engine_spark_without_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    result = _snapshot(tmp_path, "--engine", "spark")
    assert result.exit_code == 1
    assert "--engine spark needs a Java runtime (17)" in result.output


def test_engine_choice_is_checked(tmp_path: Path) -> None:
    result = _snapshot(tmp_path, "--engine", "dask")
    assert result.exit_code == 2 and "'dask' is not one of 'pandas', 'spark'" in result.output


@pytest.mark.parametrize("command", ["snapshot", "materialize", "targets"])
def test_engine_options_on_every_batch_command(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "--engine [pandas|spark]" in result.output and "--spark-master" in result.output
