"""The ``cintel`` console script: one group assembled from each stage's commands, plus the demo.

Training's commands (synth, cdnow, snapshot, train, promote, rollback, ui) live in
``training.cli``, serving's (materialize, serve, targets) in ``serving.cli``, monitoring's
(monitor, cycle) in ``monitoring.cli``. The demo spans all three, so it is defined here.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from monitoring import cli as monitoring_cli
from serving import cli as serving_cli
from training import cli as training_cli
from training.cli.common import CintelError, console, stdout, user_errors
from training.cli.output import configure_output


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="cintel")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show the libraries' own logs and warnings (MLflow, alembic, Starlette), which are "
    "off by default.",
)
def cli(verbose: bool) -> None:
    """cintel: churn, cross-sell, value tiers, segments, CLV and next-best offer from your own
    transactions, tracked in MLflow, served by BentoML, monitored with Evidently.

    State lives under CINTEL_HOME (default ./.cintel); MLFLOW_TRACKING_URI points at a
    tracking server instead of the embedded sqlite store. Results go to stdout, progress and
    messages to stderr."""
    configure_output(verbose)


@click.command()
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

    started = time.time()
    with console.status("Starting the demo…") as status:

        def say(message: str) -> None:
            """The story to stdout; each step's heading also on the progress line."""
            stdout.print(message, highlight=False)
            if message.startswith("["):
                status.update(message.split("\n")[0] + "…")

        try:
            run_demo(home, customers, n_requests, port, say=say)
        except TimeoutError as exc:  # the service did not start, or did not swap, in time
            raise CintelError(str(exc)) from exc
    stdout.print(f"\nDemo finished in {time.time() - started:.0f} s.")


for _command in (
    *training_cli.COMMANDS,
    *serving_cli.COMMANDS,
    *monitoring_cli.COMMANDS,
    demo,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="cintel")


if __name__ == "__main__":  # pragma: no cover
    main()
