"""The ``cintel`` command line: each command is a thin call of a library function."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd
from rich.console import Console

from training.contract import DataValidationError, ValidationReport

MODEL_NAMES = ["churn", "propensity", "segments", "clv"]

F = TypeVar("F", bound=Callable[..., Any])
console = Console(stderr=True, soft_wrap=True)


class CintelError(click.ClickException):
    """A user-facing error: one clear message and exit code 1."""

    def show(self, file: Any = None) -> None:
        console.print(f"[bold red]error:[/] {self.format_message()}")


def user_errors(func: F) -> F:
    """Turn expected input errors into one clear message and a non-zero exit.

    ``CINTEL_DEBUG=1`` shows the traceback instead.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DataValidationError, FileNotFoundError, ValueError, LookupError) as exc:
            if os.environ.get("CINTEL_DEBUG"):
                raise
            raise CintelError(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def show_report(report: ValidationReport) -> None:
    """Print validation warnings so that nothing is repaired silently."""
    for issue in report.warnings:
        console.print(f"[yellow]warning:[/] {issue}")


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """A date option, or a clear error naming the option."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise CintelError(f"{option}: {value!r} is not a date; use YYYY-MM-DD") from exc


def data_option(
    help_text: str = "Data folder with transactions and customers (Parquet or CSV).",
    required: bool = True,
) -> Callable[[F], F]:
    """The shared ``--data DIR`` option."""
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path),
        required=required,
        default=None,
        help=help_text,
    )


def as_of_option(help_text: str) -> Callable[[F], F]:
    """The shared ``--as-of DATE`` option (parsed later with ``parse_date``)."""
    return click.option("--as-of", "as_of", default=None, help=help_text)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="cintel")
def cli() -> None:
    """cintel: churn, cross-sell, value tiers, segments, CLV and next-best offer from your own
    transactions, tracked in MLflow, served by BentoML, monitored with Evidently.

    State lives under CINTEL_HOME (default ./.cintel); MLFLOW_TRACKING_URI points at a real
    tracking server instead of the embedded sqlite store.
    """


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("data/synth"),
    show_default=True,
    help="Folder to write the three Parquet files to.",
)
@click.option(
    "--customers",
    "n_customers",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Number of customers.",
)
@click.option("--start", default="2024-01-01", show_default=True, help="First day of data.")
@click.option("--end", default="2025-12-31", show_default=True, help="Last day of data.")
@click.option(
    "--families",
    "n_families",
    type=click.IntRange(4, 10),
    default=6,
    show_default=True,
    help="Number of product families (4-10).",
)
@click.option(
    "--drift",
    type=click.Choice(["price", "mix", "churn"]),
    default=None,
    help="Inject a drift scenario from --drift-start on.",
)
@click.option("--drift-start", default=None, help="Date the drift starts (with --drift).")
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Window after --end for the ground-truth future outcomes.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@user_errors
def synth(
    out_dir: Path,
    n_customers: int,
    start: str,
    end: str,
    n_families: int,
    drift: str | None,
    drift_start: str | None,
    horizon_days: int,
    seed: int,
) -> None:
    """Simulate a customer base with known ground truth (transactions, customers,
    ground_truth Parquet files)."""
    from training.synth import SynthConfig, synthesize, write_synth

    config = SynthConfig(
        n_customers=n_customers,
        start=start,
        end=end,
        n_families=n_families,
        seed=seed,
        drift=drift,
        drift_start=drift_start,
        horizon_days=horizon_days,
    )
    with console.status(f"Simulating {n_customers:,} customers…"):
        data = synthesize(config)
        paths = write_synth(data, out_dir)
    console.print(
        f"Simulated {len(data.customers):,} customers and {len(data.transactions):,} "
        f"transactions from {start} to {end}"
        + (f", {drift} drift from {drift_start}" if drift else "")
    )
    for path in paths:
        console.print(f"  wrote {path}")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("data/cdnow"),
    show_default=True,
    help="Folder to write transactions and customers to.",
)
@click.option(
    "--sample",
    is_flag=True,
    help="The 2,357-customer sample of Fader, Hardie & Lee (2005) instead of all 23,570.",
)
@user_errors
def cdnow(out_dir: Path, sample: bool) -> None:
    """Convert the shipped CDNOW data set (real CD purchases, 1997-1998) to the data contract.

    CDNOW has one product family ("music"): cross-sell steps are skipped on it."""
    from training.cdnow import write_cdnow

    paths = write_cdnow(out_dir, sample=sample)
    for path in paths:
        console.print(f"  wrote {path}")


@cli.command()
@data_option("Data folder with transactions and customers (Parquet or CSV).")
@as_of_option(
    "Cut-off: features use events strictly before it. [default: the day after the last transaction]"
)
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Label window [as_of, as_of + horizon).",
)
@click.option(
    "--partial-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.5,
    show_default=True,
    help="Partial churn: window spend below this fraction of the previous window's.",
)
@click.option(
    "--time-unit",
    type=click.Choice(["D", "W"]),
    default="D",
    show_default=True,
    help="Unit of the buy-till-you-die columns (days or weeks).",
)
@click.option(
    "--require-labels",
    is_flag=True,
    help="Fail when the data does not cover the horizon instead of omitting labels.",
)
@click.option(
    "--out", "out", type=click.Path(path_type=Path), required=True, help="Parquet file to write."
)
@user_errors
def snapshot(
    data_dir: Path,
    as_of: str | None,
    horizon_days: int,
    partial_fraction: float,
    time_unit: str,
    require_labels: bool,
    out: Path,
) -> None:
    """Point-in-time features (and labels when the data covers the horizon), one row per
    customer."""
    from training.io import load_data
    from training.snapshot import build_snapshot, write_snapshot

    cutoff = parse_date(as_of, "--as-of")
    with console.status("Reading and validating data…"):
        data = load_data(data_dir)
    show_report(data.report)
    with console.status("Computing features and labels…"):
        snap = build_snapshot(
            data,
            cutoff,
            horizon_days,
            require_labels=require_labels,
            partial_fraction=partial_fraction,
            time_unit_days=7.0 if time_unit == "W" else 1.0,
        )
        write_snapshot(snap, out)
    labels = (
        f"labels for [{snap.as_of:%Y-%m-%d}, +{horizon_days} days)"
        if snap.labelled
        else "no labels (the data does not cover the horizon)"
    )
    console.print(
        f"Snapshot as of {snap.as_of:%Y-%m-%d}: {len(snap.frame):,} customers, "
        f"{len(snap.feature_columns)} features, {labels}\n  wrote {out}"
    )


@cli.command()
@data_option("Data folder with transactions and customers (Parquet or CSV).")
@as_of_option(
    "End of the evaluation window; training uses the window two horizons "
    "before it. [default: the day after the last transaction]"
)
@click.option(
    "--horizon-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Length of the label window.",
)
@click.option(
    "--models",
    default=",".join(MODEL_NAMES),
    show_default=True,
    help="Comma-separated models to train.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.005,
    show_default=True,
    help="The challenger may be this much worse than the champion on the main "
    "metric and still be promoted.",
)
@user_errors
def train(
    data_dir: Path, as_of: str | None, horizon_days: int, models: str, tolerance: float
) -> None:
    """Train models out-of-time, log them to MLflow, register @challenger and run the gate.

    Fits on the snapshot two horizons before --as-of, evaluates challenger and champion on
    the snapshot one horizon before it, and promotes only a challenger that is no worse
    (within --tolerance) and passes the absolute floors."""
    from training.io import load_data
    from training.pipeline import train as run_training

    selected = [m.strip() for m in models.split(",") if m.strip()]
    cutoff = parse_date(as_of, "--as-of")
    with console.status("Reading and validating data…") as status:
        data = load_data(data_dir)
        show_report(data.report)
        results = run_training(
            data,
            cutoff,
            horizon_days,
            selected,
            tolerance,
            progress=lambda msg: status.update(msg[0].upper() + msg[1:] + "…"),
        )
    print_results(results)


def print_results(results: list[Any]) -> None:
    """The summary table: model, version, metric, champion before/after, decision."""
    from rich.table import Table

    table = Table(title="Training summary")
    for col in (
        "model",
        "version",
        "metric",
        "score",
        "champion before",
        "champion after",
        "decision",
        "reason",
    ):
        table.add_column(col, overflow="fold")
    for r in results:
        score = "" if r.score is None else f"{r.score:.4f}"
        table.add_row(
            r.model,
            r.version or "-",
            r.metric,
            score,
            r.champion_before or "-",
            r.champion_after or "-",
            r.decision,
            r.reason,
        )
    out = Console()
    Console(width=max(out.width, 160)).print(table)


@cli.command()
@click.argument("model", type=click.Choice(MODEL_NAMES))
@click.argument("version")
@user_errors
def promote(model: str, version: str) -> None:
    """Make VERSION of MODEL the @champion (the old champion becomes @previous)."""
    from training import registry
    from training.tracking import configure_tracking

    configure_tracking()
    registry.promote(model, version)
    registry.record_decision(
        model, version, {"decision": "promoted", "reason": "promoted by hand (cintel promote)"}
    )
    console.print(f"cintel-{model}@champion -> version {version}")


@cli.command()
@click.argument("model", type=click.Choice(MODEL_NAMES))
@user_errors
def rollback(model: str) -> None:
    """Move MODEL's @champion back to @previous."""
    from training import registry
    from training.tracking import configure_tracking

    configure_tracking()
    version = registry.rollback(model)
    console.print(f"cintel-{model}@champion -> version {version} (rolled back)")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@user_errors
def ui(host: str, port: int) -> None:
    """Open the MLflow UI on cintel's store (the embedded sqlite one by default)."""
    from training.ui import ui_command

    sys.exit(ui_command(host, port))


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="cintel")


if __name__ == "__main__":  # pragma: no cover
    main()
