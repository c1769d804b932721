"""Screenshots of the three UIs (Evidently, MLflow, the API page) in headless chromium.

    python scripts/screenshots.py                  # a small demo-like home in /tmp, then the PNGs
    python scripts/screenshots.py --home .cintel   # an existing home (e.g. after `cintel demo`)

Writes docs/screenshots/{evidently,mlflow,api}.png. Everything runs on 127.0.0.1: the
home is built with the real `cintel synth/train/materialize/monitor`, then `cintel monitor
--ui`, `cintel ui` and `cintel serve` are started, each page is opened with Debian's chromium
from its command line (no Python browser driver), and every process is stopped at the end.
The browser test (tests/test_browser.py) uses the same helpers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
CINTEL = str(Path(sys.executable).parent / "cintel")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WINDOW = "1400,900"
# the Evidently dashboard is taller: all four panels, down to the realised performance
WINDOWS = {"evidently": "1400,1400"}
PUBLISHED = "2025-09-01"  # a built home's publish: 90 days of outcomes by the data's end


def chromium() -> str | None:
    """The headless-capable browser on PATH (Debian's chromium), or None."""
    return next((path for b in BROWSERS if (path := shutil.which(b))), None)


def browse(
    url: str, screenshot: Path | None = None, budget_ms: int = 15000, window: str = WINDOW
) -> str:
    """The page's DOM after its JavaScript ran (``--dump-dom``); with ``screenshot``, a PNG of
    a ``window``-sized page ("width,height") instead. A fresh profile each time, so parallel
    runs never share one."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("no chromium on PATH: apt-get install chromium chromium-driver")
    with tempfile.TemporaryDirectory(prefix="cintel-chromium-") as profile:
        args = [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={window}",
            "--hide-scrollbars",
        ]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            args.append(f"--screenshot={screenshot}")
        else:
            args.append("--dump-dom")
        done = subprocess.run(
            [*args, url], capture_output=True, text=True, timeout=budget_ms / 1000 + 90
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode} on {url}: {done.stderr[-2000:]}")
    return done.stdout


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(home: Path) -> dict[str, str]:
    """The environment of every command: this home, its embedded MLflow, this tree first."""
    env = {**os.environ, "CINTEL_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("CINTEL_API_KEY", None)
    env.pop("CINTEL_API_KEY_FILE", None)
    if (home / "offers.yaml").exists():  # the catalogue `cintel demo` writes and serves
        env["CINTEL_OFFERS_PATH"] = str(home / "offers.yaml")
    return env


def build_home(home: Path, customers: int = 1500) -> None:
    """A demo-like home: simulated data to 2025-12-31, the four champions trained and
    published on the data before ``PUBLISHED``, one monitoring run on that data, then one
    cycle on all of it: a second window, that publish's realised performance (its 90-day
    outcomes have matured) and the decision (no retrain: fewer customers than --min-rows)."""
    from monitoring.demo import split_before

    data = home / "data"
    env = environment(home)

    def cintel(*step: str) -> None:
        done = subprocess.run([CINTEL, *step], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"cintel {step[0]} exited {done.returncode}: {done.stderr[-3000:]}")

    cintel("synth", "--out", str(data / "all"), "--customers", str(customers), "--seed", "3")
    before = str(split_before(data / "all", data / "before", PUBLISHED))
    for step in ("train", "materialize", "monitor"):
        cintel(step, "--data", before)
    cintel("cycle", "--data", str(data / "all"))


@dataclass(frozen=True)
class Urls:
    """Where each of the three UIs answers."""

    evidently: str
    mlflow: str
    api: str


def _start(args: list[str], env: dict[str, str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``cintel ARGS``; return once ``ready`` answers 200 (fail after 180 s)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [CINTEL, *args], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"cintel {args[0]} exited {proc.returncode}: {log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(ready, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"{ready} did not answer in 180 s: {log.read_text()[-3000:]}")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (each command stops its own children on it), then SIGKILL after 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_uis(home: Path, logs: Path) -> Iterator[Urls]:
    """`cintel monitor --ui`, `cintel ui` and `cintel serve` on 127.0.0.1 over ``home``;
    every one stopped when the context closes."""
    env = environment(home)
    logs.mkdir(parents=True, exist_ok=True)
    ev, ml, api = free_port(), free_port(), free_port()
    with ExitStack() as stack:
        started = [
            (["monitor", "--ui", "--ui-port", str(ev)], f"http://127.0.0.1:{ev}/api/projects"),
            (["ui", "--port", str(ml)], f"http://127.0.0.1:{ml}/health"),
            (
                ["serve", "--port", str(api), "--workers", "1", "--poll-seconds", "0"],
                f"http://127.0.0.1:{api}/readyz",
            ),
        ]
        for args, ready in started:
            proc = _start(args, env, ready, logs / f"{args[0]}.log")
            stack.callback(_stop, proc)
        project = httpx.get(f"http://127.0.0.1:{ev}/api/projects", timeout=5).json()[0]["id"]
        yield Urls(
            evidently=f"http://127.0.0.1:{ev}/projects/{project}",
            mlflow=f"http://127.0.0.1:{ml}/#/models/cintel-churn?workflowType=machine_learning",
            api=f"http://127.0.0.1:{api}/docs",
        )


def main() -> int:
    """Build (or reuse) a home, start the three UIs, write the three PNGs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="an existing CINTEL_HOME to show")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--customers", type=int, default=1500, help="customers of a new home")
    options = parser.parse_args()
    if chromium() is None:
        print("screenshots: no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="cintel-screens-") as tmp:
        home = options.home
        if home is None:
            home = Path(tmp) / "home"
            print(f"screenshots: building a home of {options.customers} customers", file=sys.stderr)
            build_home(home, options.customers)
        with running_uis(home.resolve(), Path(tmp) / "logs") as urls:
            for name, url in (
                ("evidently", urls.evidently),
                ("mlflow", urls.mlflow),
                ("api", urls.api),
            ):
                target = options.out / f"{name}.png"
                browse(url, screenshot=target, window=WINDOWS.get(name, WINDOW))
                print(f"{target} ({target.stat().st_size // 1024} KB) <- {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
