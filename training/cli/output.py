"""Where the command line writes: results to stdout, progress and logs to stderr, and the
libraries' chatter off unless ``cintel -v``.

Off by default: MLflow's info lines (database set-up, "Validating input example against
model signature") and the registry's "Successfully registered / Created version" prints
(``MLFLOW_LOGGING_LEVEL=WARNING``, which MLflow's warnings still pass), alembic's set-up
lines, and the Starlette deprecation warning of ``mlflow server`` (its own import, nothing
a user can act on). The environment carries the choice to the processes a command starts
(the service, the smoke-test child, ``mlflow server``).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import IO, Any, cast

from rich.console import Console

VERBOSE_ENV = "CINTEL_VERBOSE"
QUIET_LEVEL = "WARNING"
# (message start, category) of warnings nobody running cintel can act on
HARMLESS_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    ("starlette.middleware.wsgi is deprecated", UserWarning),
)
QUIET_LOGGERS = ("mlflow", "alembic")


class _Stdout:
    """``sys.stdout`` as it is at each write; while rich's progress display (on stderr)
    redirects it, results print above the spinner only when stdout is a terminal too: a
    piped stdout gets them directly, never the terminal of the spinner."""

    def _target(self) -> IO[str]:
        current = sys.stdout
        proxied = getattr(current, "rich_proxied_file", None)  # rich.file_proxy.FileProxy
        if proxied is not None and not _isatty(proxied):
            return cast(IO[str], proxied)
        return current

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        target = self._target()
        return _isatty(getattr(target, "rich_proxied_file", target))

    def fileno(self) -> int:
        return self._target().fileno()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):  # closed
        return False


stdout = Console(file=_Stdout(), soft_wrap=True)  # type: ignore[arg-type]  # results
console = Console(stderr=True, soft_wrap=True)  # progress, warnings, errors


def is_verbose() -> bool:
    """True after ``cintel -v`` (here or in a parent process)."""
    return os.environ.get(VERBOSE_ENV) == "1"


def configure_output(verbose: bool) -> None:
    """Libraries quiet (the default) or as chatty as they are (``verbose``), in this
    process and the ones it starts."""
    os.environ[VERBOSE_ENV] = "1" if verbose else "0"
    if verbose:
        if os.environ.get("MLFLOW_LOGGING_LEVEL", "").upper() == QUIET_LEVEL:
            os.environ.pop("MLFLOW_LOGGING_LEVEL")  # set by a quiet parent: MLflow's default
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", QUIET_LEVEL)
    level = os.environ["MLFLOW_LOGGING_LEVEL"].upper()
    for name in QUIET_LOGGERS:  # when already configured (MLflow imported first)
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING and level in ("WARNING", "ERROR", "CRITICAL"):
            logger.setLevel(level)
    given = [r for r in os.environ.get("PYTHONWARNINGS", "").split(",") if r]
    rules = []
    for message, category in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
        rules.append(f"ignore:{message}:{category.__name__}")
    # the user's own rules come last: they win
    os.environ["PYTHONWARNINGS"] = ",".join([*(r for r in rules if r not in given), *given])
