"""Training's data commands (synth, cdnow, snapshot), each a thin call of a library function."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from training.cli.common import (
    as_of_option,
    console,
    data_option,
    decision_log_options,
    engine_options,
    parse_date,
    require_spark,
    show_report,
    spark_table,
    stdout,
    user_errors,
)

if TYPE_CHECKING:
    import pandas as pd

    from training.data.snapshot import Snapshot
    from training.spark.snapshot import SparkSnapshot


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("data/synth"),
    show_default=True,
    help="Folder to write the four Parquet files to.",
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
    ground_truth and ground_truth_responses Parquet files: the latter holds every
    customer's true chance to buy each family, and anything, with and without an offer)."""
    from training.data.simulator.simulate import SynthConfig, synthesize, write_synth

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
    stdout.print(
        f"Simulated {len(data.customers):,} customers and {len(data.transactions):,} "
        f"transactions from {start} to {end}"
        + (f", {drift} drift from {drift_start}" if drift else "")
    )
    for path in paths:
        stdout.print(f"  wrote {path}")


@click.command()
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
    from training.data.cdnow import write_cdnow

    with console.status("Converting CDNOW…"):
        paths = write_cdnow(out_dir, sample=sample)
    for path in paths:
        stdout.print(f"  wrote {path}")


@click.command()
@data_option(
    "Data folder with transactions and customers (Parquet or CSV; Parquet only, any path "
    "Spark reads, with --engine spark).",
    uri=True,
)
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
    "--out",
    "out",
    required=True,
    help="Parquet file to write (with --engine spark: a Parquet folder, any path Spark writes).",
)
@engine_options("Compute the snapshot")
@user_errors
def snapshot(
    data_dir: str,
    as_of: str | None,
    horizon_days: int,
    partial_fraction: float,
    time_unit: str,
    require_labels: bool,
    out: str,
    engine: str,
    spark_master: str | None,
) -> None:
    """Point-in-time features (and labels when the data covers the horizon), one row per
    customer."""
    from training.data.io import load_data
    from training.data.snapshot import build_snapshot, write_snapshot

    cutoff = parse_date(as_of, "--as-of")
    unit_days = 7.0 if time_unit == "W" else 1.0
    if engine == "spark":
        _snapshot_spark(
            data_dir,
            cutoff,
            horizon_days,
            partial_fraction,
            unit_days,
            require_labels,
            out,
            spark_master,
        )
        return
    with console.status("Reading and validating data…"):
        data = load_data(Path(data_dir))
    show_report(data.report)
    with console.status("Computing features and labels…"):
        snap = build_snapshot(
            data,
            cutoff,
            horizon_days,
            require_labels=require_labels,
            partial_fraction=partial_fraction,
            time_unit_days=unit_days,
        )
        write_snapshot(snap, Path(out))
    _say_snapshot(snap, len(snap.frame), out)


def _say_snapshot(snap: Snapshot | SparkSnapshot, n: int, out: str) -> None:
    labels = (
        f"labels for [{snap.as_of:%Y-%m-%d}, +{snap.horizon_days} days)"
        if snap.labelled
        else "no labels (the data does not cover the horizon)"
    )
    stdout.print(
        f"Snapshot as of {snap.as_of:%Y-%m-%d}: {n:,} customers, "
        f"{len(snap.feature_columns)} features, "
        f"{labels}\n  wrote {out}"
    )


def _snapshot_spark(
    data_dir: str,
    cutoff: pd.Timestamp | None,
    horizon_days: int,
    partial_fraction: float,
    unit_days: float,
    require_labels: bool,
    out: str,
    master: str | None,
) -> None:
    """``snapshot --engine spark``: validate, compute and write with Spark (a Parquet folder)."""
    require_spark(master)
    tx_path, cu_path = spark_table(data_dir, "transactions"), spark_table(data_dir, "customers")
    from training.spark.session import get_spark
    from training.spark.snapshot import build_snapshot_spark

    with console.status("Starting Spark…") as status:
        spark = get_spark(master)
        status.update("Reading and validating data with Spark…")
        snap = build_snapshot_spark(
            tx_path,
            cu_path,
            cutoff,
            horizon_days,
            spark=spark,
            require_labels=require_labels,
            partial_fraction=partial_fraction,
            time_unit_days=unit_days,
        )
        show_report(snap.report)
        status.update("Computing features and labels with Spark…")
        snap.write(out)
        n = spark.read.parquet(out).count()
    _say_snapshot(snap, n, out)


@click.command("simulate-responses")
@data_option("Simulated data folder (made by `cintel synth`: it holds the true responses).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="New data folder: the transactions plus the response-window purchases.",
)
@decision_log_options("Where the simulated feedback records go.")
@click.option(
    "--drift",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Scale the true response probabilities by this factor (1: no drift), so that "
    "actual response moves away from what the models expect.",
)
@click.option(
    "--at",
    default=None,
    help="Replay the decisions as if the first was made on this date (or data-end: the day "
    "after the data ends), keeping their spacing; the re-timed log goes to OUT/decisions. "
    "Needed when the response windows have not ended yet.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@user_errors
def simulate_responses(
    data_dir: Path,
    out_dir: Path,
    decisions_dir: Path | None,
    feedback_dir: Path | None,
    drift: float,
    at: str | None,
    seed: int,
) -> None:
    """What the simulated customers did after the recorded decisions: channel feedback
    and the purchases in each offer's response window, drawn from the true responses
    (treated with an offer, control without), written as feedback records and a new data
    folder (with the ground truth beside it)."""
    import training.data.simulator.replay
    from training.settings import get_settings

    home = get_settings().home
    decisions_dir = decisions_dir or home / "decisions"
    feedback_dir = feedback_dir or home / "feedback"
    with console.status("Simulating responses…"):
        result = training.data.simulator.replay.simulate_responses(
            data_dir, out_dir, decisions_dir, feedback_dir, drift, seed, at
        )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    moved = "" if result.shift is None else f", re-timed by {result.shift.days:+,} days"
    stdout.print(
        f"Simulated {result.rows:,} decision rows of {result.records:,} records{moved}: "
        f"{result.purchases:,} purchases, {result.feedback:,} feedback records"
        + (f" (drift ×{drift:g})" if drift != 1.0 else "")
    )
    stdout.print(f"  wrote {result.out_dir}")
    if result.decisions_out is not None:
        stdout.print(
            f"  re-timed decisions: {result.decisions_out} "
            f"(report with `cintel campaigns --decisions {result.decisions_out}`)"
        )
    for path in result.feedback_files:
        stdout.print(f"  feedback: {path}")
