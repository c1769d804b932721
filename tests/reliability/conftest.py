"""The reliability suite's results: read from CINTEL_RELIABILITY_RESULTS (what
``make test-reliability`` just measured), or measured here by running the harness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "bench" / "reliability.py"


@pytest.fixture(scope="session")
def reliability_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each row of one harness run, by key."""
    given = os.environ.get("CINTEL_RELIABILITY_RESULTS")
    if given:
        path = Path(given)
        if not path.exists():
            pytest.fail(f"CINTEL_RELIABILITY_RESULTS={given}: no such file")
    else:
        path = tmp_path_factory.mktemp("reliability") / "reliability.json"
        # the harness exits 1 when a row misses its target: the rows are judged below
        subprocess.run([sys.executable, str(HARNESS), "--out", str(path)], cwd=REPO, timeout=3600)
    results = json.loads(path.read_text())
    rows = {row["key"]: row for row in results["rows"]}
    for key in results.get("not_run", []):  # left out on purpose with --only
        rows.setdefault(key, {"not_run": True})
    return rows
