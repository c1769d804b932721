"""ASGI guard in front of the endpoints: API key (401), media type (415), body size (413),
the OpenAPI document and page (``/docs.json``, ``/docs``), one error shape (``errors``), and
POST /profile and /profiles answered here (``fast_route``).

Health and metrics stay open. A POST body is read here, up to ``CINTEL_MAX_BODY_BYTES``,
before the endpoint sees it, so a chunked body over the limit is a 413 like a declared one.
Bodies may be sent as ``application/json`` or without a Content-Type (read as JSON); any
other declared type is a 415. Every 4xx/5xx answer leaves as ``{"error", "field"}`` and
gets one line in the app log.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from serving.api_page import HTML, PAGE, PAGE_PATHS
from serving.errors import error_body, log_rejected, normalize
from serving.fast_route import FastRoute
from serving.settings import get_service_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON = "application/json"


async def _reply(send: Send, status: int, body: bytes, media: str = JSON) -> None:
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ErrorShaper:
    """A ``send`` that passes answers under 400 through untouched and rewrites error
    answers into the one error shape, logging one line for each."""

    def __init__(self, scope: Scope, send: Send, full: bool) -> None:
        self.method, self.path = str(scope.get("method", "")), str(scope.get("path", ""))
        self.send, self.full = send, full
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start" and message["status"] >= 400 and self.method != "HEAD":
            self.start = message
            return
        if self.start is None or kind != "http.response.body":
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._flush(self.start)

    async def _flush(self, start: Message) -> None:
        status = int(start["status"])
        text, field = normalize(b"".join(self.chunks))
        log_rejected(self.method, self.path, status, field, text, self.full)
        body = error_body(text, field)
        kept = [(k, v) for k, v in start.get("headers", []) if k.lower() not in _REPLACED]
        headers = [*kept, (b"content-type", JSON.encode()), (b"content-length", b"%d" % len(body))]
        await self.send({**start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


_REPLACED = frozenset({b"content-type", b"content-length"})


def _media_type(headers: dict[bytes, bytes]) -> str:
    raw = headers.get(b"content-type", b"").decode("latin-1")
    return raw.split(";", 1)[0].strip().lower()


GONE = object()  # the client disconnected while sending its body


async def _read_body(receive: Receive, limit: int) -> bytes | object | None:
    """The whole request body, None when it passes ``limit``, GONE when the client left."""
    parts: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return GONE  # http.disconnect
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as before

    return replayed


class GuardMiddleware:
    """Auth, media type, body size, the API document and the error shape (see module)."""

    def __init__(
        self,
        app: ASGIApp,
        openapi: Callable[[], bytes] | None = None,
        fast: Callable[[], FastRoute | None] | None = None,
    ) -> None:
        self.app = app
        self.openapi = openapi
        self.fast = fast  # the running service's fast route, when it has one
        self._document: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        settings = get_service_settings()  # cached; read per request so tests can change it
        answered = send
        send = _ErrorShaper(scope, send, full=settings.log_rejected == "full")
        headers = dict(scope.get("headers") or [])
        if settings.api_key:
            given = headers.get(b"x-api-key", b"")
            if not hmac.compare_digest(given, settings.api_key.encode()):
                await _reply(send, 401, error_body("missing or wrong X-API-Key header"))
                return
        method, path = scope.get("method"), scope.get("path")
        if method == "GET" and path == "/docs.json" and self.openapi is not None:
            if self._document is None:
                self._document = self.openapi()
            await _reply(send, 200, self._document)
            return
        if method == "GET" and path in PAGE_PATHS:  # BentoML's page at / replaced
            await _reply(send, 200, PAGE, HTML)
            return
        if method in BODY_METHODS:
            media = _media_type(headers)
            if media not in ("", JSON):
                message = f"Content-Type {media} is not supported: send the body as {JSON}"
                await _reply(send, 415, error_body(message))
                return
            limit = settings.max_body_bytes
            length = headers.get(b"content-length")
            too_big = f"request body over {limit} bytes (CINTEL_MAX_BODY_BYTES)"
            if length is not None and length.isdigit() and int(length) > limit:
                await _reply(send, 413, error_body(too_big))
                return
            body = await _read_body(receive, limit)
            if body is GONE:
                return
            if not isinstance(body, bytes):
                await _reply(send, 413, error_body(too_big))
                return
            route = None
            if method == "POST" and self.fast is not None and settings.fast_route == "on":
                route = self.fast()
            reply = None if route is None else await route.answer(str(path), body)
            if reply is not None:
                status, out = reply
                await _reply(send if status >= 400 else answered, status, out)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)
