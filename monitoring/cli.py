"""The ``cintel`` entry point: training's commands plus serving and monitoring ones.

The group is defined in ``training.cli`` (data, snapshot, train, registry, UI); the
commands that need the service or the monitoring loop are added here, because only this
package may import the other two.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import click

from training.cli import cli
from training.cli_common import (
    CintelError,
    as_of_option,
    console,
    data_option,
    engine_options,
    parse_date,
    require_spark,
    show_report,
    spark_table,
    status_progress,
    user_errors,
)

if TYPE_CHECKING:  # heavy imports stay out of `cintel --help`
    from monitoring.monitor import MonitorResult
    from serving.materialize import MaterializeResult
    from serving.settings import ServiceSettings

SERVICE = "serving.service:Cintel"


def _service_settings(store: str | None = None) -> ServiceSettings:
    from serving.settings import ServiceSettings

    settings = ServiceSettings()
    return settings.model_copy(update={"store": store}) if store else settings


@cli.command()
@data_option(
    "Data folder with transactions and customers (any Spark path with --engine spark).", uri=True
)
@as_of_option("Snapshot date. [default: the day after the last transaction]")
@click.option(
    "--store",
    type=click.Choice(["file", "redis"]),
    default=None,
    help="Store backend. [default: CINTEL_STORE or file]",
)
@click.option(
    "--reasons",
    type=click.Choice(["exact", "approx"]),
    default="exact",
    show_default=True,
    help="How churn drivers are ranked: exact TreeSHAP contributions, or approximate ones "
    "(about 25x cheaper; most of the scoring time at a million customers goes to exact ones).",
)
@engine_options("Compute the snapshot and score")
@user_errors
def materialize(
    data_dir: str,
    as_of: str | None,
    store: str | None,
    reasons: str,
    engine: str,
    spark_master: str | None,
) -> None:
    """Score every customer with the champions and write the online store the service reads.

    With --engine spark the snapshot and the scoring run on Spark; the scored profiles are
    collected to this machine to write the file or Redis store."""
    from serving.materialize import materialize as run
    from training.io import load_data

    cutoff = parse_date(as_of, "--as-of")
    if engine == "spark":
        require_spark(spark_master)
        tx_path, cu_path = spark_table(data_dir, "transactions"), spark_table(data_dir, "customers")
    with console.status("Reading and validating data…") as status:
        if engine == "spark":
            from serving.spark_materialize import materialize_spark
            from training.spark.session import get_spark

            result = materialize_spark(
                tx_path,
                cu_path,
                _service_settings(store),
                get_spark(spark_master),
                cutoff,
                store,
                progress=status_progress(status),
                approx_reasons=reasons == "approx",
            )
            _say_materialized(result)
            return
        data = load_data(Path(data_dir))
        show_report(data.report)
        result = run(
            data,
            _service_settings(store),
            cutoff,
            store,
            progress=status_progress(status),
            approx_reasons=reasons == "approx",
        )
    _say_materialized(result)


def _say_materialized(result: MaterializeResult) -> None:
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(result.versions.items()))
    console.print(
        f"Materialized {result.n_customers:,} customers as of {result.as_of:%Y-%m-%d} "
        f"({versions})\n  wrote {result.location}"
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0),
    default=None,
    help="How often to look for new champions and a new store. [default: 30]",
)
@click.option(
    "--api-key",
    default=None,
    envvar="CINTEL_API_KEY",
    help="Require this X-API-Key on every endpoint but health and metrics.",
)
@user_errors
def serve(host: str, port: int, poll_seconds: float | None, api_key: str | None) -> None:
    """Serve /profile, /profiles, /score and /feedback with BentoML (Ctrl+C stops)."""
    env = dict(os.environ)
    if poll_seconds is not None:
        env["CINTEL_POLL_SECONDS"] = str(poll_seconds)
    if api_key:
        env["CINTEL_API_KEY"] = api_key
    console.print(f"cintel service on http://{host}:{port} (OpenAPI at /docs)")
    cmd = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port)]
    try:
        sys.exit(subprocess.run(cmd, env=env, check=False).returncode)
    except KeyboardInterrupt:
        sys.exit(0)


@cli.command()
@click.option("--campaign", type=click.Choice(["retention", "cross-sell"]), required=True)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Number of customers in the list.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="CSV (or .parquet) file to write."
)
@click.option("--channel", default=None, help="Only offers allowed on this channel.")
@engine_options("Rank the store's profiles")
@user_errors
def targets(
    campaign: str, top: int, out: Path, channel: str | None, engine: str, spark_master: str | None
) -> None:
    """Write the outbound list for a campaign, highest priority first, from the online store.

    With --engine spark the file store's profiles are ranked on Spark, batch by batch."""
    import pandas as pd

    from serving.catalogue import load_catalogue
    from serving.store import PROFILES_FILE
    from serving.targets import campaign_targets

    settings = _service_settings()
    path = settings.store_dir / PROFILES_FILE
    if not path.exists():
        raise CintelError(f"{path}: no online store; run `cintel materialize` first")
    kind = cast(Literal["retention", "cross-sell"], campaign)
    catalogue = load_catalogue(settings.offers_path)
    if engine == "spark":
        require_spark(spark_master)
        from serving.spark_materialize import targets_spark
        from training.spark.session import get_spark

        with console.status("Ranking customers on Spark…"):
            spark = get_spark(spark_master)
            table = targets_spark(str(path), kind, top, catalogue, spark, channel=channel)
    else:
        table = campaign_targets(pd.read_parquet(path), kind, top, catalogue, channel=channel)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    console.print(f"{len(table):,} {campaign} targets written to {out}")


@cli.command()
@click.option(
    "--window-days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Request-log window to compare with the reference.",
)
@data_option("Compare this data's latest snapshot instead of the request log.", required=False)
@user_errors
def monitor(window_days: float, data_dir: Path | None) -> None:
    """Drift of inputs and predictions against the champions' reference (Evidently report).

    Writes CINTEL_HOME/reports/<timestamp>/ (report.html, snapshot.json, summary.json),
    refreshes reports/index.html and logs key figures to the MLflow experiment
    cintel-monitoring. Windows under 1,000 rows are not judged (noise alarms)."""
    from monitoring.cycle import monitor_frame, monitor_requests
    from training.settings import get_settings
    from training.tracking import configure_tracking

    settings = get_settings()
    configure_tracking(settings)
    with console.status("Building the drift report…"):
        if data_dir is None:
            result = monitor_requests(settings, window_days)
        else:
            from training.io import load_data
            from training.snapshot import build_snapshot

            snap = build_snapshot(load_data(data_dir), None, horizon_days=1)
            current = snap.frame[["customer_id", *snap.feature_columns]]
            result = monitor_frame(settings, current, "snapshot")
    show_monitor(result)


def show_monitor(result: MonitorResult) -> None:
    """One paragraph ops can act on."""
    s = result.summary
    colour = {"ok": "green", "drift": "red"}.get(s.status, "yellow")
    share = "" if s.drift_share is None else f", drift share {s.drift_share:.0%}"
    console.print(
        f"[bold {colour}]{s.status}[/]{share} ({s.n_current:,} current rows vs "
        f"{s.n_reference:,} reference): {s.reason}"
    )
    if s.drifted_columns:
        console.print(
            "  drifted: "
            + ", ".join(s.drifted_columns[:15])
            + (" …" if len(s.drifted_columns) > 15 else "")
        )
    console.print(f"  report: {result.run_dir / 'report.html'}")
    console.print(f"  history: {result.run_dir.parent / 'index.html'}")


@cli.command()
@data_option("Data folder to retrain on (the latest transactions).")
@click.option(
    "--window-days",
    type=click.FloatRange(min=0, min_open=True),
    default=7.0,
    show_default=True,
    help="Request-log window to monitor.",
)
@click.option(
    "--every",
    default=None,
    help="Repeat every DURATION (e.g. 6h, 1d) until interrupted; omit for one cycle.",
)
@click.option(
    "--consecutive-windows",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Drifted windows in a row needed to retrain.",
)
@click.option(
    "--drift-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.3,
    show_default=True,
    help="Share of drifted features that counts as drift.",
)
@click.option(
    "--min-rows",
    type=click.IntRange(min=0),
    default=5000,
    show_default=True,
    help="Customers needed before retraining.",
)
@click.option("--force", is_flag=True, help="Retrain whatever the policy says.")
@user_errors
def cycle(
    data_dir: Path,
    window_days: float,
    every: str | None,
    consecutive_windows: int,
    drift_share: float,
    min_rows: int,
    force: bool,
) -> None:
    """Monitor, decide, retrain, gate and publish new champions (safe to run from cron).

    A lock refuses a second concurrent cycle; every cycle is recorded in the MLflow
    experiment cintel-cycles with its reason and the versions before and after."""
    import time

    from monitoring.cycle import CycleLockedError, parse_every, run_cycle
    from monitoring.policy import PolicyConfig

    interval = parse_every(every) if every else None
    policy = PolicyConfig(
        consecutive_windows=consecutive_windows,
        drift_share_threshold=drift_share,
        min_rows=min_rows,
    )
    while True:
        try:
            with console.status("Running the cycle…") as status:
                result = run_cycle(
                    data_dir,
                    window_days,
                    policy,
                    force,
                    progress=status_progress(status),
                )
        except CycleLockedError as exc:
            raise CintelError(str(exc)) from exc
        if result.monitor is not None:
            show_monitor(result.monitor)
        verdict = "retrain" if result.decision.retrain else "no retrain"
        console.print(f"[bold]{verdict}[/]: {result.decision.reason}")
        for r in result.trained:
            console.print(f"  {r['model']}: v{r['version'] or '-'} {r['decision']} ({r['reason']})")
        changed = {
            m: (result.before[m], result.after[m])
            for m in result.before
            if result.before[m] != result.after[m]
        }
        if changed:
            console.print(
                "  champions: "
                + ", ".join(f"{m} {a or '-'} -> {b}" for m, (a, b) in changed.items())
            )
        if interval is None:
            return
        time.sleep(interval)


@cli.command()
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=Path(".cintel/demo"),
    show_default=True,
    help="Folder for the demo's state (recreated each run).",
)
@click.option("--customers", type=click.IntRange(min=1000), default=4000, show_default=True)
@click.option(
    "--requests",
    "n_requests",
    type=click.IntRange(min=1000),
    default=1500,
    show_default=True,
    help="Requests per traffic window (≥1,000 to be judged).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Service port. [default: a free one]",
)
@user_errors
def demo(home: Path, customers: int, n_requests: int, port: int | None) -> None:
    """Run the whole loop end to end on the embedded default and say where to look."""
    from monitoring.demo import run_demo

    started = __import__("time").time()
    run_demo(home, customers, n_requests, port, say=lambda m: console.print(m, highlight=False))
    console.print(f"\nDemo finished in {__import__('time').time() - started:.0f} s.")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="cintel")


if __name__ == "__main__":  # pragma: no cover
    main()
