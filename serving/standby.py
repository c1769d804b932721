"""A fast 503 while no worker takes connections (CINTEL_STANDBY_503_SECONDS).

The BentoML server process holds the listening socket; its workers inherit it and accept
from it. When every worker is gone at once (``kill -9``, the OOM killer) a new one needs
seconds to start (Python, BentoML, the store), and meanwhile callers' connections wait in
the socket's backlog with no answer. This thread, in the server process, watches the
socket: when connections have waited ``hold_s`` seconds with no worker accepting them,
it accepts them and answers ``503`` (``Retry-After: 1``) in the service's error shape,
until a worker accepts again. Given ``ready`` (``serving.readiness``: is any worker up?),
it answers only while no worker is up: a connection that waits because every worker is
busy (overload, a long garbage collection) stays in the backlog for them instead of
getting a false 503. Without ``ready`` any wait over ``hold_s`` is answered. Standard
library only: the server process must not import the service.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable

POLL_S = 0.05
MAX_HEAD = 65_536
CLIENT_CLOSE_S = 1.0  # how long an answered caller may take to close its end
MAX_DRAIN = 1_000_000  # a body up to CINTEL_MAX_BODY_BYTES' default is read before closing

_BODY = json.dumps(
    {
        "error": "no worker of the service is up (one is starting): retry shortly",
        "field": None,
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\n"
    + f"content-length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return max(0, int(value.strip()))
            except ValueError:
                return 0
    return 0


def answer_unavailable(conn: socket.socket, timeout: float = 0.5) -> None:
    """Read the request (so closing does not reset the connection), answer 503, close."""
    try:
        conn.settimeout(timeout)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < MAX_HEAD:
            chunk = conn.recv(MAX_HEAD)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        left = min(_content_length(head), MAX_DRAIN) - len(body)
        while left > 0:
            chunk = conn.recv(min(left, MAX_HEAD))
            if not chunk:
                break
            left -= len(chunk)
        conn.sendall(RESPONSE)
        # the caller closes first (``connection: close``), so the TIME_WAIT of the
        # connection stays on its side, not on the service's port (where it would keep a
        # plain bind of the port failing for a minute after the service stopped)
        conn.settimeout(CLIENT_CLOSE_S)
        while conn.recv(MAX_HEAD):
            pass
    except OSError:
        pass
    finally:
        conn.close()


def _listening(sock: socket.socket) -> bool:
    try:
        return sock.fileno() != -1 and sock.getsockname()[1] != 0
    except (OSError, IndexError, TypeError):
        return False


class Standby:
    """Answers 503 on ``sockets`` for connections that waited ``hold_s`` s unaccepted
    (while ``ready`` says no worker is up, when given)."""

    def __init__(
        self,
        sockets: Iterable[socket.socket],
        hold_s: float,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.sockets = list(sockets)
        self.hold_s = hold_s
        self.ready = ready
        self.answered = 0
        self.left_to_workers = 0  # waits past hold_s left alone: a worker was up
        self._stop = threading.Event()

    def start(self) -> None:
        for sock in self.sockets:
            name = f"cintel-standby-{sock.fileno()}"
            threading.Thread(target=self._watch, args=(sock,), name=name, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self, sock: socket.socket) -> None:
        while not _listening(sock):  # the server binds its sockets when it starts
            if self._stop.wait(POLL_S):
                return
        waiting_since: float | None = None
        while not self._stop.is_set():
            try:
                readable = bool(select.select([sock], [], [], POLL_S)[0])
            except (OSError, ValueError):  # closed: the server is stopping
                return
            now = time.monotonic()
            if not readable:
                waiting_since = None
                continue
            if waiting_since is None:
                waiting_since = now
            if now - waiting_since < self.hold_s:
                self._stop.wait(POLL_S)  # a worker that is up takes it meanwhile
                continue
            if self.ready is not None and self.ready():
                self.left_to_workers += 1  # busy, not gone: the backlog is theirs
                waiting_since = now
                self._stop.wait(POLL_S)
                continue
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):  # a worker took it after all
                waiting_since = None
                continue
            except OSError:
                return
            conn.setblocking(True)
            answer_unavailable(conn)
            self.answered += 1
