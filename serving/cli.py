"""Serving's commands: ``materialize`` (publish the online store), ``serve``, ``targets``
(``serving.targets_cli``), ``ingest`` (``serving.ingest_cli``), ``prospects``
(``serving.prospect_cli``) and ``explain`` (``serving.explain_cli``)."""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from serving.explain_cli import explain
from serving.ingest_cli import ingest
from serving.prospect_cli import prospects
from serving.targets_cli import targets
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
    stdout,
    user_errors,
)

if TYPE_CHECKING:  # heavy imports stay out of `cintel --help`
    from serving.batch.materialize import MaterializeResult
    from serving.settings import ServiceSettings

SERVICE = "serving.service:Cintel"


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
    help="How churn drivers are ranked: exact TreeSHAP contributions (computed once per "
    "decision pattern of each tree, bit-equal to XGBoost's), or XGBoost's approximate ones.",
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
    segment id the segments champion does not have.

    With either engine the store also gets each customer's 12-month P&L, priced by
    costs.yaml in the data folder (without it every cost is 0; a bad file is an error
    naming the key; with --engine spark it is read from a local data folder only), the
    lifecycle stage, a cintel-potential champion's potential value and share of wallet,
    a cintel-churn-partial champion's partial-churn probability and reasons, and each
    customer's value x potential x needs cell with its strategy and micro-segment
    (cells.yaml in the data folder or CINTEL_HOME, else the defaults; a bad file is an
    error naming the key). CINTEL_ECONOMICS=off leaves all of these out. A cintel-uplift
    champion is scored by the pandas engine only."""
    import serving.batch.materialize
    from training.data.io import load_data
    from training.economics.cells_config import load_cells
    from training.economics.costs import COSTS_FILE, load_costs

    cutoff = parse_date(as_of, "--as-of")
    if engine == "spark":
        require_spark(spark_master)
        tx_path, cu_path = spark_table(data_dir, "transactions"), spark_table(data_dir, "customers")
    with console.status("Reading and validating data…") as status:
        if engine == "spark":
            from serving.batch.spark_materialize import materialize_spark
            from serving.settings import settings_for_store
            from training.economics import Costs
            from training.spark.session import get_spark

            settings = settings_for_store(store)
            local = "://" not in data_dir or data_dir.startswith("file://")
            folder = data_dir.removeprefix("file://") if local else None
            costs = load_costs(folder) if folder is not None else Costs()
            if costs.source is None:
                where = data_dir if local else f"{data_dir} (read from local folders only)"
                console.print(
                    f"no {COSTS_FILE} in {where}: every cost is 0 "
                    "(net contribution = margin - returns)"
                )
            result = materialize_spark(
                tx_path,
                cu_path,
                settings,
                get_spark(spark_master),
                cutoff,
                store,
                progress=status_progress(status),
                approx_reasons=reasons == "approx",
                costs=costs,
                cells=load_cells(folder, settings.home),
            )
            _say_materialized(result)
            return
        from serving.settings import settings_for_store

        settings = settings_for_store(store)
        # the champions load (MLflow, an isolated smoke test) while the data is read
        with ThreadPoolExecutor(1, thread_name_prefix="cintel-champions") as pool:
            champions = pool.submit(serving.batch.materialize.load_champions, settings, True)
            data = load_data(Path(data_dir))
            show_report(data.report)
            costs = load_costs(data_dir)
            if costs.source is None:
                console.print(
                    f"no {COSTS_FILE} in {data_dir}: every cost is 0 "
                    "(net contribution = margin - returns)"
                )
            loaded = champions.result()
        result = serving.batch.materialize.materialize(
            data,
            settings,
            cutoff,
            store,
            progress=status_progress(status),
            approx_reasons=reasons == "approx",
            costs=costs,
            champions=loaded,
            cells=load_cells(data_dir, settings.home),
        )
    _say_materialized(result)


def _say_materialized(result: MaterializeResult) -> None:
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(result.versions.items()))
    stdout.print(
        f"Materialized {result.n_customers:,} customers as of {result.as_of:%Y-%m-%d} "
        f"({versions})\n  wrote {result.location}"
    )
    for note in result.left_out:
        console.print(f"[yellow]warning:[/] {note}", highlight=False)


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
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes; with 2 or more, while one restarts after a crash the others "
    "answer. [default: CINTEL_WORKERS or 2]",
)
@click.option(
    "--drain-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="On SIGTERM or Ctrl-C, how long requests in flight may take to finish before "
    "every process of the service is killed. [default: CINTEL_DRAIN_SECONDS or 10]",
)
@click.option(
    "--api-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Require the key in this file (one line) as X-API-Key on every endpoint but "
    "health and metrics. The key can also come from CINTEL_API_KEY or CINTEL_API_KEY_FILE.",
)
@click.option(
    "--api-key",
    default=None,
    help="The key itself. Discouraged: any user of this machine can read it in `ps` while "
    "the command runs (the service's own processes get it from the environment only).",
)
@user_errors
def serve(
    host: str,
    port: int,
    poll_seconds: float | None,
    workers: int | None,
    drain_seconds: float | None,
    api_key_file: Path | None,
    api_key: str | None,
) -> None:
    """Serve /profile, /profiles, /score, /feedback and /events with BentoML.

    Beside the workers runs one event updater process (restarted if it dies) that turns
    the events every worker accepts into profile rows; CINTEL_EVENT_UPDATER=worker has each
    worker compute its own instead. SIGTERM or Ctrl+C drains the requests in flight, then
    stops every process of the service (BentoML's server, its workers, the updater); the
    port is free when this command ends."""
    from training.cli.supervise import run_supervised

    env = dict(os.environ)
    if api_key:
        console.print(
            "[yellow]warning:[/] --api-key is visible to every user of this machine in `ps` "
            "for as long as this command runs; use CINTEL_API_KEY or --api-key-file"
        )
        env.pop("CINTEL_API_KEY_FILE", None)
    elif api_key_file is not None:  # the service reads the file: the key stays out of env
        api_key_file = api_key_file.resolve()
        env.pop("CINTEL_API_KEY", None)
    settings = _checked_settings(
        poll_seconds=poll_seconds,
        workers=workers,
        drain_seconds=drain_seconds,
        api_key=api_key or ("" if api_key_file else None),
        api_key_file=api_key_file,
    )
    for name, value in (
        ("CINTEL_POLL_SECONDS", poll_seconds),
        ("CINTEL_API_KEY", api_key),
        ("CINTEL_API_KEY_FILE", api_key_file),
    ):
        if value is not None:
            env[name] = str(value)
    env["BENTOML_CONFIG_OVERRIDES"] = _bentoml_overrides(env, settings)
    auth = "X-API-Key required" if settings.api_key else "no API key"
    stdout.print(
        f"cintel service on http://{host}:{port} ({settings.workers} worker"
        f"{'s' if settings.workers > 1 else ''}, {auth}; OpenAPI at /docs)"
    )
    drain = settings.drain_seconds
    cmd = [sys.executable, "-m", "serving.launch", SERVICE, "--host", host, "--port", str(port)]
    cmd += ["--timeout-graceful-shutdown", str(max(1, math.ceil(drain)))]
    # one process turns every worker's accepted events into rows (restarted if it dies)
    updater = [[sys.executable, "-m", "serving.event_updater"]]
    sidecars = updater if settings.event_updater == "process" else []
    sys.exit(run_supervised(cmd, env, stop_timeout=drain + 5, sidecars=sidecars))


def _checked_settings(**options: Any) -> ServiceSettings:
    """The settings the service will have (the environment, then ``options`` that are not
    None), checked here for one clear error instead of a worker restarting in a loop."""
    from pydantic import ValidationError

    from serving.settings import ServiceSettings

    try:
        return ServiceSettings(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise CintelError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


# every request URL: BentoML's OpenTelemetry middleware then passes requests straight on
# instead of opening a span per request (unsampled and unexported by default)
NO_TRACED_URLS = [".*"]


def _bentoml_overrides(env: dict[str, str], settings: ServiceSettings) -> str:
    """BENTOML_CONFIG_OVERRIDES with the worker count, BentoML's access log and its
    per-request tracing (CINTEL_ACCESS_LOG, CINTEL_TRACING) merged into any the user set."""
    import json

    try:
        overrides = json.loads(env.get("BENTOML_CONFIG_OVERRIDES") or "{}")
    except json.JSONDecodeError as exc:
        raise CintelError(f"BENTOML_CONFIG_OVERRIDES is not JSON: {exc}") from exc
    service = overrides.setdefault("services", {}).setdefault("cintel", {})
    service["workers"] = settings.workers
    access = service.setdefault("logging", {}).setdefault("access", {})
    access["enabled"] = settings.access_log == "on"
    if settings.tracing == "off":
        service.setdefault("tracing", {})["excluded_urls"] = NO_TRACED_URLS
    return json.dumps(overrides)


COMMANDS = (materialize, serve, targets, ingest, prospects, explain)
