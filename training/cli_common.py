"""Shared pieces of the command line: errors, messages, common options."""

from __future__ import annotations

import functools
import os
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
