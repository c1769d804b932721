"""The server process's standby 503: only for connections no worker accepts."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.standby import Standby


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """A listening loopback socket, non-blocking as BentoML's server holds it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    yield sock
    sock.close()


def _ask(port: int, timeout: float = 5.0) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        body = b'{"customer_id": "c1"}'
        conn.sendall(
            b"POST /profile HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        answer = b""
        while b"\r\n\r\n" not in answer:  # then the body by its length, as clients do
            answer += conn.recv(65536)
        head = answer.split(b"\r\n\r\n")[0].lower()
        length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(answer.split(b"\r\n\r\n", 1)[1]) < length:
            answer += conn.recv(65536)
    return answer, time.monotonic() - started


def _time_wait_on(port: int) -> int:
    """Connections in TIME_WAIT whose local end is ``port`` (a plain bind then fails)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if int(local.split(":")[1], 16) == port and state == "06":
            count += 1
    return count


def test_with_no_worker_a_waiting_caller_gets_a_503_soon(listening: socket.socket) -> None:
    standby = Standby([listening], hold_s=0.3)
    standby.start()
    try:
        answer, waited = _ask(listening.getsockname()[1])
    finally:
        standby.stop()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in head.lower()
    assert json.loads(body)["error"].startswith("no worker of the service is up")
    assert 0.3 <= waited < 1.5
    time.sleep(0.2)
    assert standby.answered == 1
    assert _time_wait_on(listening.getsockname()[1]) == 0  # the port is free once closed


def test_while_a_worker_accepts_the_standby_takes_no_connection(
    listening: socket.socket,
) -> None:
    stop = threading.Event()
    served: list[int] = []

    def worker() -> None:  # accepts at once and answers 200, as a running worker does
        import select

        while not stop.is_set():
            if not select.select([listening], [], [], 0.01)[0]:
                continue
            try:
                conn, _ = listening.accept()
            except BlockingIOError:
                continue
            conn.setblocking(True)
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                served.append(1)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    standby = Standby([listening], hold_s=0.3)
    standby.start()
    try:
        answers = [_ask(listening.getsockname()[1])[0] for _ in range(40)]
    finally:
        standby.stop()
        stop.set()
        thread.join(2)
    assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers)
    assert standby.answered == 0 and len(served) == 40


def test_while_a_worker_is_up_but_busy_a_waiting_caller_gets_no_false_503(
    listening: socket.socket,
) -> None:
    up = threading.Event()
    up.set()  # a worker marked itself ready, then stopped accepting (overloaded)
    standby = Standby([listening], hold_s=0.2, ready=up.is_set)
    standby.start()
    result: list[tuple[bytes, float]] = []
    caller = threading.Thread(target=lambda: result.append(_ask(listening.getsockname()[1])))
    try:
        caller.start()
        time.sleep(1.0)  # five times the hold: the connection is still the workers'
        assert not result and standby.answered == 0 and standby.left_to_workers > 0
        up.clear()  # the worker is gone: now the caller is told
        caller.join(5)
    finally:
        standby.stop()
    answer, waited = result[0]
    assert answer.startswith(b"HTTP/1.1 503 ") and waited >= 1.0
    time.sleep(0.2)  # counted once the caller has closed its end
    assert standby.answered == 1


def test_readiness_counts_live_workers_and_drops_dead_ones(tmp_path: Path) -> None:
    import subprocess
    import sys

    from serving.readiness import mark_ready, workers_up

    assert workers_up(tmp_path) == 0
    mine = mark_ready(tmp_path)
    assert mine is not None and mine.name == str(os.getpid())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (tmp_path / dead).touch()  # a worker killed with -9 leaves its file
    assert workers_up(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]
    assert mark_ready(tmp_path / "gone") is None  # the folder went: nothing announced
