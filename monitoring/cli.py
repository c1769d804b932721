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

import click

from training.cli import CintelError, cli, console, parse_date, show_report, user_errors

SERVICE = "serving.service:Cintel"


def _service_settings(store: str | None = None):  # type: ignore[no-untyped-def]
    from serving.settings import ServiceSettings

    settings = ServiceSettings()
    return settings.model_copy(update={"store": store}) if store else settings


@cli.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Data folder with transactions and customers.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Snapshot date. [default: the day after the last transaction]",
)
@click.option(
    "--store",
    type=click.Choice(["file", "redis"]),
    default=None,
    help="Store backend. [default: CINTEL_STORE or file]",
)
@user_errors
def materialize(data_dir: Path, as_of: str | None, store: str | None) -> None:
    """Score every customer with the champions and write the online store the service reads."""
    from serving.materialize import materialize as run
    from training.io import load_data

    cutoff = parse_date(as_of, "--as-of")
    with console.status("Reading and validating data…") as status:
        data = load_data(data_dir)
        show_report(data.report)
        result = run(
            data,
            _service_settings(store),
            cutoff,
            store,
            progress=lambda m: status.update(m[0].upper() + m[1:] + "…"),
        )
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
@user_errors
def targets(campaign: str, top: int, out: Path, channel: str | None) -> None:
    """Write the outbound list for a campaign, highest priority first, from the online store."""
    import pandas as pd

    from serving.catalogue import load_catalogue
    from serving.store import PROFILES_FILE
    from serving.targets import campaign_targets

    settings = _service_settings()
    path = settings.store_dir / PROFILES_FILE
    if not path.exists():
        raise CintelError(f"{path}: no online store; run `cintel materialize` first")
    profiles = pd.read_parquet(path)
    table = campaign_targets(
        profiles, campaign, top, load_catalogue(settings.offers_path), channel=channel
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
    console.print(f"{len(table):,} {campaign} targets written to {out}")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="cintel")


if __name__ == "__main__":  # pragma: no cover
    main()
