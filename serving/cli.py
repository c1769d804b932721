"""Serving's commands: ``materialize`` (publish the online store), ``serve``, ``targets``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import click

from training.cli.common import (
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
    from serving.batch.materialize import MaterializeResult
    from serving.settings import ServiceSettings

SERVICE = "serving.service:Cintel"


def _service_settings(store: str | None = None) -> ServiceSettings:
    from serving.settings import ServiceSettings

    settings = ServiceSettings()
    return settings.model_copy(update={"store": store}) if store else settings


@click.command()
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
    collected to this machine to write the file or Redis store. Nothing is written, and the
    exit code is 1, when the offer catalogue (CINTEL_OFFERS_PATH or the default) names a
    segment id the segments champion does not have."""
    from serving.batch.materialize import materialize as run
    from training.data.io import load_data

    cutoff = parse_date(as_of, "--as-of")
    if engine == "spark":
        require_spark(spark_master)
        tx_path, cu_path = spark_table(data_dir, "transactions"), spark_table(data_dir, "customers")
    with console.status("Reading and validating data…") as status:
        if engine == "spark":
            from serving.batch.spark_materialize import materialize_spark
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


@click.command()
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


@click.command()
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

    Customers in the control group of their offer's campaign are listed with group
    "control": do not contact them (they are the comparison the campaigns report needs).
    Every listed customer gets a decision record in CINTEL_HOME/decisions (endpoint
    "targets"; none with CINTEL_DECISIONS=off). With --engine spark the file store's
    profiles are ranked on Spark, batch by batch."""
    import json
    from datetime import UTC, datetime

    import pandas as pd

    from serving.batch.targets import campaign_targets, decision_lines
    from serving.catalogue import load_catalogue
    from serving.jsonlog import JsonLog
    from serving.store import META_FILE, PROFILES_FILE

    settings = _service_settings()
    path = settings.store_dir / PROFILES_FILE
    if not path.exists():
        raise CintelError(f"{path}: no online store; run `cintel materialize` first")
    kind = cast(Literal["retention", "cross-sell"], campaign)
    catalogue = load_catalogue(settings.offers_path)
    if engine == "spark":
        require_spark(spark_master)
        from serving.batch.spark_materialize import targets_spark
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
    control = int((table["group"] == "control").sum()) if len(table) else 0
    console.print(
        f"{len(table):,} {campaign} targets written to {out}: {len(table) - control:,} to "
        f"contact, {control:,} in a control group (group = control: do not contact)"
    )
    if settings.decisions == "on" and len(table):
        meta_path = settings.store_dir / META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        lines = decision_lines(table, catalogue, meta, ts, channel)
        JsonLog(settings.decision_log_dir).write_through(b"".join(lines), ts, len(lines))
        console.print(f"  {len(lines):,} decision records in {settings.decision_log_dir}")


COMMANDS = (materialize, serve, targets)
