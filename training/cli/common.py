"""Shared pieces of the command line: errors, messages, common options."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from training.cli.output import console, stdout
from training.data.contract import DataValidationError, ValidationReport

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["CintelError", "console", "stdout", "user_errors"]


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


def status_progress(status: Any) -> Callable[[str], None]:
    """A ``progress`` callback that shows each step ("computing x") on a rich status line."""
    return lambda message: status.update(message[0].upper() + message[1:] + "…")


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
    uri: bool = False,
) -> Callable[[F], F]:
    """The shared ``--data DIR`` option; ``uri`` keeps it a string (s3a://… for Spark)."""
    return click.option(
        "--data",
        "data_dir",
        type=click.STRING if uri else click.Path(path_type=Path),
        required=required,
        default=None,
        help=help_text,
    )


def as_of_option(help_text: str) -> Callable[[F], F]:
    """The shared ``--as-of DATE`` option (parsed later with ``parse_date``)."""
    return click.option("--as-of", "as_of", default=None, help=help_text)


def origins_option() -> Callable[[F], F]:
    """The shared ``--origins N`` option (stacked training snapshots) of train and backtest."""
    return click.option(
        "--origins",
        type=click.IntRange(min=1, max=12),
        default=1,
        show_default=True,
        help="Stack up to N training snapshots, one label window apart, for more training rows.",
    )


def decision_log_options(feedback_help: str) -> Callable[[F], F]:
    """The shared ``--decisions DIR`` and ``--feedback DIR`` options of the commands that
    read the decision log and the channel feedback (``campaigns``, ``simulate-responses``);
    both default to CINTEL_HOME's folders (None here, resolved by the command)."""

    def decorate(func: F) -> F:
        func = click.option(
            "--feedback",
            "--feedback-dir",
            "feedback_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help=f"{feedback_help} [default: CINTEL_HOME/feedback]",
        )(func)
        return click.option(
            "--decisions",
            "decisions_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Decision log folder (YYYY-MM-DD.jsonl files). [default: CINTEL_HOME/decisions]",
        )(func)

    return decorate


ENGINES = ("pandas", "spark")
SPARK_MASTER_ENV = "CINTEL_SPARK_MASTER"


def engine_options(what: str) -> Callable[[F], F]:
    """The shared ``--engine pandas|spark`` and ``--spark-master URL`` options."""

    def decorate(func: F) -> F:
        func = click.option(
            "--spark-master",
            "spark_master",
            default=None,
            envvar=SPARK_MASTER_ENV,
            help="Spark master with --engine spark (local[4], spark://host:7077, yarn). "
            f"[default: {SPARK_MASTER_ENV}, else Spark Connect at SPARK_REMOTE when set, "
            "else local[2]]",
        )(func)
        return click.option(
            "--engine",
            type=click.Choice(ENGINES),
            default="pandas",
            show_default=True,
            help=f"{what} with pandas on this machine or with Apache Spark "
            "(needs the spark extra and Java 17; data as Parquet).",
        )(func)

    return decorate


def require_spark(master: str | None) -> None:
    """One clear error when ``--engine spark`` cannot run here: no pyspark, or no Java
    for a JVM-backed session (a Spark Connect client needs no Java)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        raise CintelError(
            "--engine spark needs pyspark, which is not installed; "
            "run `make install-spark` (or pip install 'cintel[spark]')"
        )
    connect = master is None and bool(os.environ.get("SPARK_REMOTE"))
    java_home = os.environ.get("JAVA_HOME")
    has_java = shutil.which("java") is not None or (
        java_home is not None and (Path(java_home) / "bin" / "java").exists()
    )
    if not connect and not has_java:
        raise CintelError(
            "--engine spark needs a Java runtime (17) and none was found on PATH or in "
            "JAVA_HOME; install one (Debian: apt-get install -y openjdk-17-jre-headless) "
            "or set SPARK_REMOTE=sc://host:15002 to use a Spark Connect server"
        )


def spark_table(data: str, name: str) -> str:
    """``DIR/name.parquet`` for the Spark engine (any path Spark reads: local, s3a://, …)."""
    path = f"{data.rstrip('/')}/{name}.parquet"
    if "://" not in data:
        folder = Path(data)
        if not (folder / f"{name}.parquet").exists():
            found = sorted(p.name for p in folder.glob(f"{name}.*")) if folder.is_dir() else []
            hint = f" (found {', '.join(found)}; convert CSV to Parquet)" if found else ""
            raise CintelError(f"{data}: --engine spark needs {name}.parquet{hint}")
    return path
