"""The `cintel` command line: every contract command exists, data commands work, bad input
is one clear message and a non-zero exit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.entry import cli

COMMANDS = (
    "synth",
    "cdnow",
    "snapshot",
    "train",
    "backtest",
    "promote",
    "rollback",
    "materialize",
    "serve",
    "targets",
    "prospects",
    "monitor",
    "cycle",
    "ui",
    "campaigns",
    "simulate-responses",
    "demo",
)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_public_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: cintel " + command in result.output.replace("Usage: cli ", "Usage: cintel ")


def test_synth_then_snapshot(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["synth", "--customers", "300", "--out", str(tmp_path / "d")])
    assert out.exit_code == 0, out.output
    assert {p.name for p in (tmp_path / "d").iterdir()} == {
        "transactions.parquet",
        "customers.parquet",
        "ground_truth.parquet",
        "ground_truth_responses.parquet",
    }
    snap = tmp_path / "s.parquet"
    out = runner.invoke(
        cli,
        ["snapshot", "--data", str(tmp_path / "d"), "--as-of", "2025-06-01", "--out", str(snap)],
    )
    assert out.exit_code == 0, out.output
    frame = pd.read_parquet(snap)
    assert "label_churn" in frame.columns and frame["customer_id"].is_unique


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["snapshot", "--data", "{tmp}/missing", "--out", "{tmp}/x.parquet"], "no such folder"),
        (
            ["snapshot", "--data", "{tmp}", "--as-of", "2025-13-01", "--out", "{tmp}/x.parquet"],
            "--as-of: '2025-13-01' is not a date",
        ),
        (["synth", "--families", "3", "--out", "{tmp}/d"], "--families"),
        (["cycle", "--data", "{tmp}", "--every", "soon"], "--every 'soon'"),
        (["train", "--data", "{tmp}", "--until", "2025-02-30"], "--until: '2025-02-30'"),
        (
            ["train", "--data", "{tmp}", "--until", "2025-01-01", "--as-of", "2025-01-01"],
            "--as-of is the old name of --until",
        ),
    ],
)
def test_bad_input_is_one_message_and_a_non_zero_exit(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    result = CliRunner().invoke(cli, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code != 0
    assert needle in result.output
    assert "Traceback" not in result.output


def test_campaigns_and_simulate_responses_share_the_log_options() -> None:
    """One decorator: the same --decisions and --feedback (alias --feedback-dir) options."""

    def log_options(name: str) -> list[tuple[str | None, list[str], dict[str, Any]]]:
        command = cli.commands[name]
        return [
            (p.name, p.opts, p.type.to_info_dict())
            for p in command.params
            if p.name in ("decisions_dir", "feedback_dir")
        ]

    shared = log_options("campaigns")
    assert shared == log_options("simulate-responses")
    assert [opts for _, opts, _ in shared] == [["--decisions"], ["--feedback", "--feedback-dir"]]
    for name in ("campaigns", "simulate-responses"):
        for flag in ("--feedback", "--feedback-dir"):
            ctx = cli.commands[name].make_context(
                name, ["--data", "d", "--out", "o", flag, "fb"], resilient_parsing=True
            )
            assert ctx.params["feedback_dir"] == Path("fb")
