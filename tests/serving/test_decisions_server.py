"""Decision records under real ``bentoml serve`` processes: nothing acknowledged is lost
when a server is SIGKILLed under load, and feedback finds decisions made by another
process and after a restart."""

from __future__ import annotations

import contextlib
import os
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
import pytest

from tests.serving.handmade import make_home
from tests.serving.test_server import REPO, free_port, wait_for

pytestmark = pytest.mark.slow


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants: BentoML's workers run in sessions of their own, so
    killing the server's process group leaves them serving (and orphaned)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            child, ppid = int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(child)
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += parents.get(out[-1], [])
    return out


def kill_tree(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def serve(root: Path, home: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "CINTEL_HOME": str(home),
        "CINTEL_OFFERS_PATH": str(root / "offers.yaml"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "CINTEL_POLL_SECONDS": "0",
    }
    env.pop("CINTEL_API_KEY", None)
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:Cintel"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:  # no models in this home: /readyz stays 503, /profile works
            if proc.poll() is not None:
                pytest.fail(f"bentoml serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            return httpx.post(f"{url}/profile", json={"customer_id": "c0"}).status_code == 200

        wait_for(answers, 120, "/profile 200", log)
        yield proc, url
    finally:
        kill_tree(tree(proc.pid))
        proc.wait(timeout=10)


def _ids_in_log(home: Path) -> list[str]:
    out = []
    for path in sorted((home / "decisions").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                out.append(orjson.loads(line)["decision_id"])
            except orjson.JSONDecodeError:
                continue  # a record cut by the kill (never acknowledged)
    return out


def test_acknowledged_decisions_survive_sigkill_and_feedback_finds_them_anywhere(
    tmp_path: Path,
) -> None:
    home = make_home(tmp_path)
    log = tmp_path / "serve.log"
    acknowledged: list[tuple[str, str]] = []  # (decision_id, an offer it showed)
    with serve(tmp_path, home, log) as (_, other_url):  # a second process on the same home
        with serve(tmp_path, home, log) as (victim, url):
            stop = threading.Event()

            def load(k: int) -> None:
                with httpx.Client(base_url=url, timeout=5) as client:
                    i = 0
                    while not stop.is_set():
                        i += 1
                        try:
                            if i % 5:
                                r = client.post(
                                    "/profile", json={"customer_id": f"c{(k * 31 + i) % 200}"}
                                )
                                profiles = [r.json()] if r.status_code == 200 else []
                            else:
                                ids = [f"c{(k + i + j) % 200}" for j in range(20)]
                                r = client.post("/profiles", json={"customer_ids": ids})
                                profiles = r.json()["profiles"] if r.status_code == 200 else []
                        except (httpx.HTTPError, ValueError):
                            return  # the server is gone
                        for p in profiles:
                            offer = p["offers"][0]["offer_id"] if p["offers"] else ""
                            acknowledged.append((p["decision_id"], offer))

            threads = [threading.Thread(target=load, args=(k,)) for k in range(6)]
            for t in threads:
                t.start()
            time.sleep(4)
            processes = tree(victim.pid)
            assert len(processes) >= 2, processes  # the server and its worker
            kill_tree(processes[::-1])  # the worker first, mid-load: requests in flight
            victim.wait(timeout=10)
            stop.set()
            for t in threads:
                t.join(timeout=10)
        logged = set(_ids_in_log(home))
        print(f"{len(acknowledged)} acknowledged before the SIGKILL, {len(logged)} in the log")
        assert len(acknowledged) > 200, len(acknowledged)
        lost = [d for d, _ in acknowledged if d not in logged]
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged decisions lost"

        # another process, up since before these decisions: finds them in the log
        decision, offer = next((d, o) for d, o in acknowledged if o)
        body = {"decision_id": decision, "offer_id": offer, "outcome": "accepted"}
        first = httpx.post(f"{other_url}/feedback", json=body)
        assert first.status_code == 200 and first.json()["stored"] is True, first.text
        # a restart of the killed server: the index is rebuilt, the repeat counts once
        with serve(tmp_path, home, log) as (_, url):
            again = httpx.post(f"{url}/feedback", json=body)
            assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
            later, later_offer = next((d, o) for d, o in reversed(acknowledged) if o)
            other = {"decision_id": later, "offer_id": later_offer, "outcome": "clicked"}
            assert httpx.post(f"{url}/feedback", json=other).json()["stored"] is True
            unknown = httpx.post(f"{url}/feedback", json={**body, "decision_id": "f" * 32})
            assert unknown.status_code == 400 and unknown.json()["field"] == "decision_id"
