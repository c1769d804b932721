"""One error shape for every rejected request, and what the app log says about it.

Every 4xx/5xx body is ``{"error": message, "field": dotted path or null}``
(``schemas.ErrorAnswer``). The handlers build it with ``error_response``; BentoML's own
bodies (pydantic validation: ``{"error", "detail": [...]}``, other exceptions: a one-element
array) are rewritten into it by ``normalize``. The app log gets one line per rejected
request with its status, endpoint and field: no body, no customer id, no traceback for a
client error (``CINTEL_LOG_REJECTED=full`` adds the message and BentoML's traceback).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

REJECTED = logging.getLogger("cintel.rejected")
# what the log may name: a method or path outside these is the client's text
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
KNOWN_PATHS = frozenset(
    {"/", "/docs", "/docs.json", "/profile", "/profiles", "/score", "/feedback", "/status"}
    | {"/events", "/prospect"}
)
# BentoML logs "Exception on <path> [POST]" with the traceback of every failed call here
BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"


def error_body(message: str, field: str | None = None) -> bytes:
    return orjson.dumps({"error": message, "field": field})


def error_response(status: int, message: str, field: str | None = None) -> Response:
    """A rejected request's answer, returned by a handler (BentoML then logs nothing)."""
    return Response(error_body(message, field), status_code=status, media_type="application/json")


def dotted(loc: Sequence[Any]) -> str | None:
    """``("context", "basket_families", 0)`` -> ``"context.basket_families[0]"``; a bad
    mapping key (pydantic adds ``"[key]"`` after it) is named by the mapping's path."""
    parts = list(loc)
    if "[key]" in parts:  # (..., mapping, key, "[key]"): the key itself is client data
        parts = parts[: max(parts.index("[key]") - 1, 0)]
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return text or None


def _from_pydantic(detail: list[Any]) -> tuple[str, str | None]:
    parts: list[str] = []
    fields: list[str] = []
    for item in detail:
        if not isinstance(item, dict):
            continue
        field = dotted(item.get("loc") or ())
        message = str(item.get("msg", "invalid value"))
        parts.append(f"{field}: {message}" if field else message)
        if field:
            fields.append(field)
    return "; ".join(parts) or "invalid request body", fields[0] if fields else None


def validation_error_body(exc: ValidationError) -> bytes:
    """The error body of a request body the input model rejected: what BentoML's 400 for
    it (``{"error", "detail": [...]}``) becomes after ``normalize``."""
    text, field = _from_pydantic(exc.errors(include_context=False, include_input=False))
    return error_body(text, field)


def normalize(body: bytes) -> tuple[str, str | None]:
    """(message, field) of any error body: ours, BentoML's, or plain text."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace").strip()[:300] or "error", None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # BentoML sends a BentoMLException's 4xx body as a one-element array
    if not isinstance(data, dict):
        return str(data)[:300], None
    detail = data.get("detail")
    if isinstance(detail, list):
        return _from_pydantic(detail)
    field = data.get("field")
    return str(data.get("error") or detail or "error"), field if isinstance(field, str) else None


@cache
def _field_names() -> frozenset[str]:
    """Every field name the request schemas know (and the required /score features)."""
    from serving import event_input, schemas
    from serving.scoring import REQUIRED_FEATURES

    models: list[type[BaseModel]] = [schemas.ProfileRequest, schemas.ProfilesRequest]
    models += [schemas.ScoreRequest, schemas.FeedbackRequest, schemas.Context]
    models += [event_input.EventsRequest, event_input.Event]
    return frozenset(n for m in models for n in m.model_fields) | frozenset(REQUIRED_FEATURES)


def loggable_field(field: str | None) -> str:
    """``field`` for the log when the schema names every part of it: an unknown field's
    name is the client's text (it could be an id or an email), so it is not logged."""
    if field is None:
        return "-"
    parts = [p for p in re.split(r"[.\[\]]", field) if p and not p.isdigit()]
    return field if all(p in _field_names() for p in parts) else "(not in the schema)"


def log_rejected(
    method: str, path: str, status: int, field: str | None, message: str, full: bool
) -> None:
    """The app log's one line about a rejected request (never the body)."""
    method = method if method in KNOWN_METHODS else "(other method)"
    path = path if path in KNOWN_PATHS else "(unknown path)"
    line = f"rejected {method} {path} {status} field={loggable_field(field)}"
    level = logging.ERROR if status >= 500 else logging.INFO
    REJECTED.log(level, f"{line}: {message}" if full else line)


def _is_client_error(exc: BaseException | None) -> bool:
    from bentoml.exceptions import BentoMLException
    from starlette.exceptions import HTTPException

    if isinstance(exc, ValidationError):
        return True
    if isinstance(exc, BentoMLException):
        return int(exc.error_code) < 500
    return isinstance(exc, HTTPException) and exc.status_code < 500


class ClientErrorTracebacks(logging.Filter):
    """Drop BentoML's traceback records of client errors (they quote the input)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not _is_client_error(exc)


def install_log_policy(mode: Literal["brief", "full"]) -> None:
    """Make the rejected-request lines visible and, in brief mode, silence BentoML's
    tracebacks of client errors; called once by the service at start (idempotent)."""
    REJECTED.disabled = False  # BentoML's dictConfig disables loggers that existed before it
    REJECTED.setLevel(logging.INFO)
    bentoml_http = logging.getLogger(BENTOML_HTTP_LOGGER)
    for old in [f for f in bentoml_http.filters if isinstance(f, ClientErrorTracebacks)]:
        bentoml_http.removeFilter(old)
    if mode == "brief":
        bentoml_http.addFilter(ClientErrorTracebacks())
