"""State shared by several service workers (`cintel serve --workers N`): the model cache
and the contact history are files every worker reads and writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
