"""POST /events under a real ``cintel serve`` with two workers: every worker serves the
update (computed by the updater process, or with CINTEL_EVENT_UPDATER=worker by the worker
that accepted it), nothing acknowledged is lost when the updater or every process is
SIGKILLed mid-stream, and a killed updater is started again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from serving.batch.materialize import materialize
from serving.settings import ServiceSettings
from serving.store import FileStore
from tests.serving.test_decisions_server import kill_tree, tree
from tests.serving.test_server import REPO, free_port, wait_for
from training.data.contract import CleanData

pytestmark = pytest.mark.slow
STORE_AS_OF = "2025-06-30T00:00:00"


@pytest.fixture(scope="module")
def home(trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, data = trained_home
    copy = tmp_path_factory.mktemp("events-server") / "home"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("events", "requests", "decisions"))
    materialize(data, ServiceSettings(home=copy))
    return copy


@contextmanager
def serve(
    home: Path, log: Path, workers: int = 2, updater: str = "process"
) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "CINTEL_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        "CINTEL_POLL_SECONDS": "1",
        "CINTEL_EVENT_UPDATER": updater,
    }
    env.pop("CINTEL_API_KEY", None)
    cmd = [sys.executable, "-c", "from monitoring.entry import main; main()", "serve"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"cintel serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            return httpx.get(f"{url}/readyz").status_code == 200

        wait_for(ready, 180, "/readyz 200", log)
        yield url, proc.pid
    finally:
        kill_tree(tree(proc.pid))
        proc.wait(timeout=10)


def customers(home: Path, start: int, n: int) -> tuple[list[str], dict[str, list[str]]]:
    store = FileStore.load(home / "store")
    ids = [str(store.row(i)["customer_id"]) for i in range(start, start + n)]
    return ids, {"family": store.meta["families"], "channel": store.meta["events"]["channels"]}


def body(eid: str, cid: str, layout: dict[str, list[str]]) -> dict[str, object]:
    event = {
        "event_id": eid,
        "customer_id": cid,
        "ts": "2025-07-01T18:00:00",
        "amount": 25.0,
        "family": layout["family"][0],
        "channel": layout["channel"][0],
    }
    return {"events": [event]}


def all_updated(url: str, ids: list[str], asks: int = 1) -> list[str]:
    """The ids some answer still shows at the store's as_of (asked ``asks`` times each,
    so the requests reach both workers)."""
    stale = []
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection: any worker answers
    with httpx.Client(base_url=url, timeout=10, limits=fresh) as client:
        for _ in range(asks):
            answer = client.post("/profiles", json={"customer_ids": ids}).json()
            stale += [p["customer_id"] for p in answer["profiles"] if p["as_of"] == STORE_AS_OF]
            stale += answer["not_found"]
    return sorted(set(stale))


def updater_pid(url: str, other_than: int | None = None, timeout: float = 120) -> int:
    """The live updater process's pid as the workers see it (/status), once it is one
    other than ``other_than``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = httpx.post(f"{url}/status", json={}, timeout=10).json().get("event_updater_pid")
        if pid and pid != other_than:
            return int(pid)
        time.sleep(0.2)
    raise AssertionError(f"no updater process (other than {other_than}) within {timeout} s")


def worker_counts(client: httpx.Client, workers: int = 2) -> dict[int, tuple[int, int]]:
    """Rows computed and followed so far, by worker pid (asked until every worker answered)."""
    out: dict[int, tuple[int, int]] = {}
    for _ in range(100):
        s = client.post("/status", json={}).json()
        out[s["event_pid"]] = (s["event_rows_computed"], s["event_rows_followed"])
        if len(out) == workers:
            return out
    raise AssertionError(f"only workers {sorted(out)} answered /status")


@pytest.mark.parametrize("updater", ["process", "worker"])
def test_every_worker_serves_the_update(home: Path, tmp_path: Path, updater: str) -> None:
    ids, layout = customers(home, 200 if updater == "process" else 250, 40)
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection: any worker answers
    with (
        serve(home, tmp_path / "serve.log", updater=updater) as (url, _),
        httpx.Client(base_url=url, limits=fresh) as client,
    ):
        if updater == "process":
            updater_pid(url)  # started beside the workers; they leave every row to it
        before = worker_counts(client)  # rows of the module's earlier tests, taken at start
        for k, cid in enumerate(ids):
            answer = client.post("/events", json=body(f"two-{updater}-{k}", cid, layout))
            assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 10
        while (stale := all_updated(url, ids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stale == []
        assert all_updated(url, ids, asks=20) == []  # every worker, not just one
        status = [client.post("/status", json={}).json() for _ in range(30)]
        followed = [s["event_rows_followed"] - before[s["event_pid"]][1] for s in status]
        computed = [s["event_rows_computed"] - before[s["event_pid"]][0] for s in status]
        print(f"rows computed {sorted(set(computed))}, followed {sorted(set(followed))}")
        assert max(followed) > 0  # a worker served rows another process computed
        # every worker holds each row once, computed there or taken from another process
        assert all(c + f == len(ids) for c, f in zip(computed, followed, strict=True))
        if updater == "process":
            assert set(computed) == {0}  # the updater process computed every row
        else:
            assert {s["event_updater_pid"] for s in status} == {None}
            assert max(computed) > 0


def test_the_updater_killed_mid_stream_loses_nothing_and_comes_back(
    home: Path, tmp_path: Path
) -> None:
    ids, layout = customers(home, 800, 300)
    acknowledged: list[str] = []
    with serve(home, tmp_path / "serve.log") as (url, _):
        first = updater_pid(url)

        def send() -> None:
            with httpx.Client(base_url=url, timeout=5) as client:
                for k, cid in enumerate(ids):
                    answer = client.post("/events", json=body(f"upd-kill-{k}", cid, layout))
                    if answer.status_code == 200 and answer.json()["accepted"] == 1:
                        acknowledged.append(cid)
                    time.sleep(0.005)

        sender = threading.Thread(target=send)
        sender.start()
        while len(acknowledged) < 60:
            time.sleep(0.01)
        os.kill(first, signal.SIGKILL)  # mid-stream: rows in flight never written
        sender.join(timeout=60)
        assert len(acknowledged) == len(ids)  # the workers kept accepting
        deadline = time.monotonic() + 30
        while (stale := all_updated(url, acknowledged)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stale == []
        assert all_updated(url, acknowledged, asks=10) == []  # in every worker
        second = updater_pid(url, other_than=first, timeout=60)  # started again
        assert psutil.pid_exists(second)


def test_nothing_acknowledged_is_lost_when_every_process_is_killed(
    home: Path, tmp_path: Path
) -> None:
    ids, layout = customers(home, 300, 400)
    acknowledged: list[tuple[str, str]] = []
    log = tmp_path / "serve.log"
    with serve(home, log) as (url, pid):
        stop = threading.Event()

        def send() -> None:
            with httpx.Client(base_url=url, timeout=5) as client:
                for k, cid in enumerate(ids):
                    if stop.is_set():
                        return
                    try:
                        answer = client.post("/events", json=body(f"kill-{k}", cid, layout))
                    except httpx.HTTPError:
                        continue
                    if answer.status_code == 200 and answer.json()["accepted"] == 1:
                        acknowledged.append((f"kill-{k}", cid))

        sender = threading.Thread(target=send)
        sender.start()
        while len(acknowledged) < 50:
            time.sleep(0.01)
        kill_tree(tree(pid)[::-1])  # workers first, mid-stream
        stop.set()
        sender.join(timeout=30)
    logged = set()
    for line in (home / "events" / "events.jsonl").read_bytes().splitlines():
        try:
            logged.add(orjson.loads(line)["event_id"])
        except orjson.JSONDecodeError:
            continue  # a record cut by the kill (never acknowledged)
    lost = [eid for eid, _ in acknowledged if eid not in logged]
    print(f"{len(acknowledged)} acknowledged before the SIGKILL, {len(logged)} in the log")
    assert lost == []
    # a restart applies every acknowledged event, also those no worker had updated
    with serve(home, log) as (url, _):
        mine = [cid for _, cid in acknowledged]
        deadline = time.monotonic() + 30
        while (stale := all_updated(url, mine)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stale == []
