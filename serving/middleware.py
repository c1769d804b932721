"""ASGI guard: body size limit (413) and optional API key (401); health stays open."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from serving.settings import get_service_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


async def _reply(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Reject oversized bodies and, when CINTEL_API_KEY is set, missing or wrong keys."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        settings = get_service_settings()  # cached; read per request so tests can change it
        max_body = settings.max_body_bytes
        headers = dict(scope.get("headers") or [])
        if settings.api_key:
            given = headers.get(b"x-api-key", b"")
            if not hmac.compare_digest(given, settings.api_key.encode()):
                await _reply(send, 401, "missing or wrong X-API-Key header")
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_body:
            await _reply(send, 413, f"request body over {max_body} bytes")
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    raise ValueError(f"request body over {max_body} bytes")
            return message

        await self.app(scope, limited, send)
