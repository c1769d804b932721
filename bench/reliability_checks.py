"""The reliability suite's common parts (issue 12): rows, the open-loop load, the environment.

The checks are in ``reliability_load`` (constant load, kill -9 under load, SIGKILL while
logging), ``reliability_registry`` (registry outage, corrupt artifacts), ``reliability_input``
(schemathesis, the canary in bad requests) and ``reliability_concurrency`` (trains and
cycles at once). Every check takes the running ``System`` (and ``Server``) and returns ``Row``s: one
figure, its target, pass or fail. They report what they find; nothing here fixes, retries
or hides a failure. Loads are open-loop (``bench/loadgen.py`` in its own process), bounded
in count and time, and sent to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.reliability_system import REPO, Server, System, stop_tree

LOADGEN = REPO / "bench" / "loadgen.py"
MODELS = ("churn", "propensity", "segments", "clv")


@dataclass
class Row:
    """One line of the table: the figure measured, the target, and whether it is met."""

    key: str
    check: str
    figure: str
    target: str
    passed: bool | None  # None: a figure with no target of its own
    detail: dict[str, Any] = field(default_factory=dict)


# ---- load --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Load:
    """The records of one open-loop run and its wall-clock start."""

    start: float
    records: list[dict[str, Any]]
    load_average: float  # the machine's 1-minute load average as the run ended

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.records if 200 <= r["status"] < 300]

    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if not 200 <= r["status"] < 300]

    def latencies(self) -> list[float]:
        return sorted(r["latency_ms"] for r in self.records)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k]


@contextmanager
def load(
    system: System,
    server: Server,
    path: str,
    bodies: list[Any],
    rate: float,
    duration: float,
    keep: str = "",
    name: str = "load",
) -> Iterator[list[Load]]:
    """Run bench/loadgen.py in its own process for the ``with`` block; the Load appears
    in the yielded list when the block ends (the block is where faults are injected)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=system.logs))
    (folder / "bodies.json").write_text(json.dumps(bodies))
    cmd = [
        sys.executable,
        str(LOADGEN),
        "--url",
        f"{server.url}{path}",
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--bodies",
        str(folder / "bodies.json"),
        "--out",
        str(folder / "records.jsonl"),
        "--timeout",
        "10",
        "--keep",
        keep,
    ]
    with (folder / "loadgen.log").open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=system.env(), cwd=folder
        )
    out: list[Load] = []
    try:
        yield out
        proc.wait(timeout=duration + 120)  # each request has a 10 s total timeout
    finally:
        if proc.poll() is None:
            stop_tree(proc.pid, grace=2)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed: {(folder / 'loadgen.log').read_text()[-2000:]}")
    lines = (folder / "records.jsonl").read_text().splitlines()
    records = [json.loads(x) for x in lines[1:]]
    out.append(Load(json.loads(lines[0])["start"], records, os.getloadavg()[0]))


def profile_bodies(system: System) -> list[dict[str, Any]]:
    ids = system.customer_ids()
    random.Random(0).shuffle(ids)
    return [{"customer_id": c} for c in ids]


def warm_up(server: Server, ids: list[str]) -> None:
    """Ask for every customer once (the service prepares an answer on first ask)."""
    for i in range(0, len(ids), 500):
        server.post("/profiles", {"customer_ids": ids[i : i + 500]}, timeout=60)


def stop_row(survivors: list[str]) -> Row:
    return Row(
        "stop_tree",
        "SIGTERM to `cintel serve`: its processes still running 15 s later",
        f"{len(survivors)}",
        "0",
        not survivors,
        {"survivors": survivors},
    )


def environment() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": os.getloadavg()[0],
        "python": sys.version.split()[0],
    }
