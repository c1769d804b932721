"""Commands on the registry: promote, rollback and the MLflow UI over it."""

from __future__ import annotations

import sys

import click

from training.cli.common import stdout, user_errors
from training.tasks import ALL_MODELS


@click.command()
@click.argument("model", type=click.Choice(list(ALL_MODELS)))
@click.argument("version")
@user_errors
def promote(model: str, version: str) -> None:
    """Make VERSION of MODEL the @champion (the old champion becomes @previous).

    VERSION is downloaded, loaded and smoke-scored first; when that fails nothing moves,
    the version is tagged serving.load_error and the command exits 1. The running service
    answers from the new champion within one poll (CINTEL_POLL_SECONDS)."""
    from training.mlops import registry
    from training.mlops.tracking import configure_tracking

    configure_tracking()
    registry.promote(model, version)
    registry.record_decision(
        model, version, {"decision": "promoted", "reason": "promoted by hand (cintel promote)"}
    )
    stdout.print(f"cintel-{model}@champion -> version {version} (test-loaded)")


@click.command()
@click.argument("model", type=click.Choice(list(ALL_MODELS)))
@user_errors
def rollback(model: str) -> None:
    """Move MODEL's @champion back to the most recent earlier champion that loads.

    Versions rolled back before or tagged serving.load_error (the service could not load
    them) are passed over, and each candidate is downloaded, loaded and smoke-scored first;
    repeated rollbacks walk further back. Exits 1, nothing moved, when none is left."""
    from training.mlops import registry
    from training.mlops.tracking import configure_tracking

    configure_tracking()
    version = registry.rollback(model)
    stdout.print(f"cintel-{model}@champion -> version {version} (rolled back, test-loaded)")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@user_errors
def ui(host: str, port: int) -> None:
    """Open the MLflow UI on cintel's store (the embedded sqlite one by default).

    SIGTERM or Ctrl+C stops the mlflow server and its uvicorn workers; the port is free
    when this command ends."""
    from training.mlops.ui import ui_command

    sys.exit(ui_command(host, port))
