"""``cintel backtest``: fit before a cutoff, compare with what then happened, beside baselines."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import click
import pandas as pd

from training.cli.common import (
    CintelError,
    console,
    data_option,
    origins_option,
    parse_date,
    show_report,
    status_progress,
    stdout,
    user_errors,
)
from training.tasks import MODELS


def _format(value: float) -> str:
    if not math.isfinite(value):
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.4f}"


def print_table(long: pd.DataFrame, spread: pd.DataFrame | None, title: str) -> None:
    """One table on stdout: (task, metric) rows, one column per method (mean ± std);
    per-family propensity figures are in backtest.csv only."""
    from rich.console import Console
    from rich.table import Table

    from training.backtest.report import wide

    per_family = long["metric"].str.contains("__")
    long = long.loc[~per_family]
    spread = None if spread is None else spread.loc[~spread["metric"].str.contains("__")]
    values = wide(long)
    stds = None if spread is None else wide(spread, "std").reindex_like(values)
    table = Table(title=title)
    table.add_column("task", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    for method in values.columns:
        table.add_column(str(method), justify="right", no_wrap=True)
    v = values.to_numpy(dtype="float64")
    sd = None if stds is None else stds.to_numpy(dtype="float64")
    for i, (task_name, metric) in enumerate(values.index):
        cells = []
        for j in range(v.shape[1]):
            text = _format(v[i, j])
            if sd is not None and text and math.isfinite(sd[i, j]):
                text += f"±{_format(sd[i, j])}"
            cells.append(text)
        table.add_row(str(task_name), str(metric), *cells)
    Console(file=stdout.file, width=max(stdout.width, 240)).print(table)


@click.command()
@data_option()
@click.option(
    "--cutoff",
    "cutoffs",
    multiple=True,
    help="Fit on the history before DATE and compare with the horizon after it; repeat for "
    "a rolling-origin table. [default: the latest cutoff the horizon allows]",
)
@click.option(
    "--every",
    "every_days",
    type=click.IntRange(min=1),
    default=None,
    help="Cutoffs every N days (from --cutoff, else the earliest with a full training "
    "window) up to the latest the horizon allows.",
)
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Length of the window after each cutoff the predictions are compared with.",
)
@click.option(
    "--holdout-from",
    "holdout_from",
    default=None,
    help="Refuse a cutoff whose training labels reach DATE or later (the evaluation window "
    "may: that is what a holdout is for).",
)
@origins_option()
@click.option(
    "--models",
    default=",".join(MODELS),
    show_default=True,
    help="Comma-separated cintel models to fit beside the baselines.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for backtest.csv, the tables and plots. [default: CINTEL_HOME/backtests/<time>]",
)
@user_errors
def backtest(
    data_dir: Path,
    cutoffs: tuple[str, ...],
    every_days: int | None,
    horizon_days: int,
    holdout_from: str | None,
    origins: int,
    models: str,
    out_dir: Path | None,
) -> None:
    """Backtest: fit every model on the history before the cutoff only, score every customer
    at the cutoff and compare with the following --horizon-days, beside recency, BG/NBD,
    MBG/NBD, Pareto/NBD, BG/NBD x Gamma-Gamma and a run-rate baseline. Nothing is
    registered or promoted; the figures go to stdout, --out and MLflow (cintel-backtests)."""
    from training.backtest.report import overall, write_outputs
    from training.backtest.run import run_backtest
    from training.backtest.tracking import EXPERIMENT, log_backtest
    from training.backtest.windows import plan_all
    from training.data.io import load_data
    from training.data.labels import data_end
    from training.settings import get_settings
    from training.tasks import task

    selected = [m.strip() for m in models.split(",") if m.strip()]
    for name in selected:
        task(name)
    dates = [d for d in (parse_date(c, "--cutoff") for c in cutoffs) if d is not None]
    with console.status("Reading and validating data…") as status:
        data = load_data(Path(data_dir))
        show_report(data.report)
        tx = data.transactions
        holdout = parse_date(holdout_from, "--holdout-from")
        plans = plan_all(
            tx["ts"].min(), data_end(tx), horizon_days, dates, every_days, holdout, origins
        )
        for w in plans:
            stdout.print(f"[bold]cutoff {w.cutoff:%Y-%m-%d}[/]")
            for line in w.lines():
                stdout.print(f"  {line}")
        truth_path = Path(data_dir) / "ground_truth.parquet"
        truth = pd.read_parquet(truth_path) if truth_path.exists() else None
        if truth is not None:
            stdout.print(f"ground truth: {truth_path} (oracle churn, archetypes)")
        result = run_backtest(data, plans, selected, truth, progress=status_progress(status))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = out_dir or get_settings().home / "backtests" / stamp
        status.update("Writing tables and plots…")
        write_outputs(result, folder)
        status.update("Logging to MLflow…")
        params = {
            "data": str(Path(data_dir).resolve()),
            "horizon_days": horizon_days,
            "models": ",".join(selected),
            "ground_truth": truth is not None,
            "origins": origins,
            "holdout_from": holdout_from or "",
        }
        run_id = log_backtest(result, params, folder)
    for cut in result.cutoffs:
        stdout.print(
            f"cutoff {cut.windows.cutoff:%Y-%m-%d}: alive model by holdout log-likelihood: "
            f"[bold]{cut.alive_model}[/]"
        )
        for note in cut.notes:
            console.print(f"  [yellow]note:[/] {note}")
    several = len(result.cutoffs) > 1
    title = (
        f"Backtest, {len(result.cutoffs)} cutoffs (mean ± std), horizon {horizon_days} days"
        if several
        else f"Backtest at {result.cutoffs[0].windows.cutoff:%Y-%m-%d}, horizon {horizon_days} days"
    )
    print_table(overall(result), result.summary if several else None, title)
    stdout.print(f"wrote {folder}/backtest.csv; MLflow run {run_id} in {EXPERIMENT}")
    if not result.cutoffs:
        raise CintelError("no cutoff to backtest")
