"""POST /profile and /profiles answered by the guard itself, past BentoML's handler machinery.

BentoML's route for an endpoint builds a starlette ``Request``, reads the body the guard
already read, validates it through the endpoint's input model, calls the handler in its
exception wrapper and adds its headers and background tasks. The fast route
(``serving.middleware``; ``CINTEL_FAST_ROUTE=off`` turns it off) takes the body the guard
has read, validates it with the same input model (the endpoint's ``input_spec``: the same
400 messages and fields) and awaits the same answer code the endpoints call
(``Cintel.answer_profile``, ``Cintel.answer_profiles``), then sends the bytes. BentoML's
middlewares outside the guard (Prometheus metrics per endpoint, the request timeout, the
concurrency cap) see these requests as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from serving.errors import error_body, validation_error_body

logger = logging.getLogger(__name__)
Answer = Callable[[Any], Awaitable[tuple[int, bytes]]]
# what BentoML answers (and the guard reshapes) when a handler raises
UNEXPECTED = "An unexpected error has occurred, please check the server log."


class FastRoute:
    """Paths answered here, each with its input model and its answer coroutine."""

    def __init__(self, routes: Mapping[str, tuple[type[BaseModel], Answer]]) -> None:
        self.routes = dict(routes)

    async def answer(self, path: str, body: bytes) -> tuple[int, bytes] | None:
        """Status and JSON body for ``body`` sent to ``path``; None: not a path of ours."""
        route = self.routes.get(path)
        if route is None:
            return None
        model, answer = route
        try:
            request = model.model_validate_json(body or b"{}")  # as BentoML's JSON serde
        except ValidationError as exc:
            return 400, validation_error_body(exc)
        try:
            return await answer(request)
        except Exception:  # a 5xx keeps its traceback, as BentoML logs it
            logger.exception("Exception on %s [POST]", path)
            return 500, error_body(UNEXPECTED)
