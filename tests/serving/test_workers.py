"""State shared by several service workers (`cintel serve --workers N`): the model cache
and the contact history are files every worker reads and writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from serving.contacts import ContactHistory
from serving.feedback import FeedbackStore
from serving.jsonlog import JsonLog
from training.data.contract import CleanData

REPO = Path(__file__).resolve().parents[2]

# one worker's model follower, started on a signal so that all of them download together
FETCH = """
import json, sys, time
from pathlib import Path
from serving.follower import ModelManager
from serving.scoring import smoke_test
cache, uri, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
manager = ModelManager(cache, uri, smoke_test)
(go.parent / f"waiting-{sys.argv[4]}").write_text("ok")
while not go.exists():
    time.sleep(0.005)
manager.refresh()
print(json.dumps({"failures": manager.failures, "error": manager.last_error,
                  "versions": manager.current.versions}))
"""


@pytest.mark.slow
def test_workers_fetching_a_new_champion_at_once_all_load_it(
    trained_home: tuple[Path, CleanData], tmp_path: Path
) -> None:
    """Before: each removed the others' half-done download ("registry unreachable")."""
    home, _ = trained_home
    cache, go = tmp_path / "model-cache", tmp_path / "go"
    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FETCH, str(cache), uri, str(go), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("waiting-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    go.write_text("go")  # every worker has imported what it needs: they download together
    results = [json.loads(w.communicate(timeout=120)[0].strip().splitlines()[-1]) for w in workers]
    for result in results:
        assert result["failures"] == 0, result["error"]
        assert set(result["versions"]) == {"churn", "propensity", "segments", "clv"}
    for model in ("churn", "propensity", "segments", "clv"):
        assert not list((cache / model).glob(".*partial")), "a download left behind"
        version = (cache / model / "current").read_text()
        assert (cache / model / version / "ready").exists()


def _feedback(customer_id: str, offer_id: str) -> dict[str, str]:
    return {"customer_id": customer_id, "offer_id": offer_id, "channel": "web", "outcome": "shown"}


def _wait_count(contacts: ContactHistory, cid: str, offer: str, n: int) -> int:
    deadline = time.monotonic() + 3
    while contacts.count(cid, offer, 0) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return contacts.count(cid, offer, 0)


def test_a_contact_recorded_by_another_worker_is_counted_within_a_second(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    JsonLog(folder).write_now(_feedback("7", "wine-10"))  # before this worker started
    stop = threading.Event()
    store = FeedbackStore(folder)
    store.follow(every_s=0.1, stop=stop)
    mine = store.contacts
    try:
        assert mine.count("7", "wine-10", 0) == 1
        # another worker (its own process, the same files) records a contact
        other = subprocess.run(
            [sys.executable, "-c", OTHER_WORKER, str(folder)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=True,
        )
        assert other.returncode == 0
        assert _wait_count(mine, "8", "bakery-5", 1) == 1
        # this worker's own feedback: written, counted at once, and read back only once
        assert store.store(_feedback("7", "wine-10"))
        assert mine.count("7", "wine-10", 0) == 2
        time.sleep(0.4)  # a few polls
        assert mine.count("7", "wine-10", 0) == 2
    finally:
        stop.set()


OTHER_WORKER = """
import sys
from pathlib import Path
from serving.jsonlog import JsonLog
JsonLog(Path(sys.argv[1])).write_now(
    {"customer_id": "8", "offer_id": "bakery-5", "channel": "shop", "outcome": "accepted"}
)
"""


def test_a_line_still_being_written_is_read_once_complete(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    folder.mkdir()
    line = json.dumps({**_feedback("9", "fresh-2"), "ts": "2026-11-30T10:00:00+00:00"})
    path = folder / "2026-11-30.jsonl"
    path.write_text(line[:20])  # half a record, no newline yet
    store = FeedbackStore(folder)
    assert store.contacts.count("9", "fresh-2", 0) == 0
    with open(path, "a") as handle:
        handle.write(line[20:] + "\n" + "not json\n")
    store.refresh()
    assert store.contacts.count("9", "fresh-2", 0) == 1
    store.refresh()  # nothing new: nothing counted twice
    assert store.contacts.count("9", "fresh-2", 0) == 1
