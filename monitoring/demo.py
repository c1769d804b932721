"""``cintel demo``: the whole loop on the embedded default, in a few minutes.

Simulate customers with a product-mix drift part-way; train on the data before the drift;
materialize; start the service; send traffic; monitor (quiet); let the drift arrive;
materialize the latest data and send traffic again; monitor (drift); run the cycle
(retrain, gate, promote, publish); watch the running service swap to the new champions;
show the customer economics of that publish (``monitoring.demo_economics``); then close
the loop (``monitoring.demo_loop``: decisions with a control group, simulated
responses, the campaigns report, the uplift model and its gate).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

MARKER = ".cintel-demo"
SERVE = (sys.executable, "-m", "monitoring.entry", "serve", "--host", "127.0.0.1")
SWAP_TIMEOUT_S = 60.0  # the service polls every 2 s here; loading four models takes a few
START, DRIFT_START, END = "2024-01-01", "2025-04-01", "2025-12-31"
# the optional models the cycle's retrain trains for the first time (issue 15's block): the
# data before the drift is too short for the prospect model's sign-up cohorts anyway
ECONOMICS_MODELS = ("churn-partial", "potential", "prospect")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_home(home: Path) -> None:
    """A clean demo home; only a folder this demo created is ever removed."""
    import shutil

    if home.exists():
        if not (home / MARKER).exists():
            raise ValueError(f"{home} exists and was not made by `cintel demo`; choose --home")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("made by cintel demo; safe to delete\n")


def _use_home(home: Path) -> None:
    from serving.settings import get_service_settings
    from training.settings import get_settings

    os.environ["CINTEL_HOME"] = str(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    get_settings.cache_clear()
    get_service_settings.cache_clear()


def split_before(src: Path, dst: Path, cut: str) -> Path:
    """The data as it was on ``cut``: transactions and sign-ups before it."""
    dst.mkdir(parents=True, exist_ok=True)
    tx = pd.read_parquet(src / "transactions.parquet")
    cu = pd.read_parquet(src / "customers.parquet")
    tx[tx["ts"] < pd.Timestamp(cut)].to_parquet(dst / "transactions.parquet", index=False)
    cu[cu["signup_date"] < pd.Timestamp(cut)].to_parquet(dst / "customers.parquet", index=False)
    return dst


class Service:
    """``cintel serve`` with one worker (each /status then describes the whole service),
    stopped with SIGTERM: it drains and stops BentoML's processes itself."""

    def __init__(self, home: Path, port: int, log: Path) -> None:
        env = {
            **os.environ,
            "CINTEL_HOME": str(home),
            "MLFLOW_TRACKING_URI": f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}",
        }
        for name in ("CINTEL_API_KEY", "CINTEL_API_KEY_FILE"):  # the demo sends no key
            env.pop(name, None)
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*SERVE, "--port", str(port), "--workers", "1", "--poll-seconds", "2"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self, timeout: float = 180) -> float:
        started = time.time()
        while time.time() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited early; see {self._log.name}")
            try:
                if self.http.get("/readyz").status_code == 200:
                    return time.time() - started
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the service was not ready after {timeout:.0f} s; see {self._log.name}")

    def status(self) -> dict[str, Any]:
        return dict(self.http.post("/status", json={}).json())

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)  # cintel serve waits 10 s + 5 s at most
            except subprocess.TimeoutExpired:
                self.proc.kill()  # its child then gets SIGTERM from the kernel
                self.proc.wait()
        self._log.close()


class SwapTimeoutError(TimeoutError):
    """The running service did not serve every promoted version in time."""


def served_versions(status: dict[str, Any]) -> dict[str, dict[str, str]]:
    """What ``/status`` says is served: the loaded models (``/score``) and the store's
    versions (what ``/profile`` answers carry)."""
    store = status.get("store") or {}
    return {
        "models": {k: str(v) for k, v in (status.get("versions") or {}).items()},
        "store": {k: str(v) for k, v in (store.get("versions") or {}).items()},
    }


def missing_versions(status: dict[str, Any], expected: dict[str, str]) -> list[str]:
    """Each expected model version the service does not serve yet, in words."""
    served = served_versions(status)
    missing = []
    for model, version in sorted(expected.items()):
        for part in ("models", "store"):
            now = served[part].get(model)
            if now != str(version):
                missing.append(f"{model} v{version} ({part} still at {now or 'none'})")
    return missing


def wait_for_versions(
    status: Callable[[], dict[str, Any]],
    expected: dict[str, str],
    timeout: float,
    poll: float = 1.0,
) -> dict[str, dict[str, str]]:
    """Wait until the service serves every one of ``expected`` ({model: version}), both as
    loaded models and in its store; SwapTimeoutError naming what is still missing."""
    deadline = time.monotonic() + timeout
    while True:
        current = status()
        missing = missing_versions(current, expected)
        if not missing:
            return served_versions(current)
        if time.monotonic() >= deadline:
            raise SwapTimeoutError(
                f"after {timeout:.0f} s the service does not yet serve every promoted version: "
                + "; ".join(missing)
            )
        time.sleep(poll)


def _exit_on_sigterm() -> Any:
    """SIGTERM to the demo unwinds it like Ctrl-C (so the service it started is stopped);
    returns the previous handler (None off the main thread, where nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


def _poster(svc: Service) -> Callable[[str, dict[str, Any]], Any]:
    """POST a JSON body to the service and return its decoded answer (raising on 4xx/5xx)."""

    def post(path: str, body: dict[str, Any]) -> Any:
        r = svc.http.post(path, json=body)
        r.raise_for_status()
        return r.json()

    return post


def send_traffic(svc: Service, ids: list[str], n: int, seed: int = 0) -> dict[str, float]:
    """``n`` single-customer /profile calls with realistic channels and baskets."""
    rng = random.Random(seed)
    channels = ["web", "shop", "call_centre", None]
    latencies = []
    for _ in range(n):
        body: dict[str, Any] = {"customer_id": rng.choice(ids)}
        channel = rng.choice(channels)
        if channel:
            body["channel"] = channel
        started = time.perf_counter()
        r = svc.http.post("/profile", json=body)
        latencies.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
    }


def run_demo(
    home: Path,
    customers: int = 4000,
    requests: int = 1500,
    port: int | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the whole story; returns what happened (versions, statuses) for tests."""
    from monitoring.cycle import monitor_requests, run_cycle
    from monitoring.demo_economics import show_economics, write_costs
    from monitoring.demo_loop import close_the_loop, write_demo_catalogue
    from monitoring.policy import PolicyConfig
    from monitoring.realised import realised_performance_of_publish
    from monitoring.reports import headline
    from serving.batch.materialize import materialize
    from serving.settings import ServiceSettings
    from training.data.io import load_data
    from training.data.simulator.simulate import SynthConfig, synthesize, write_synth
    from training.economics.costs import load_costs
    from training.pipeline import train
    from training.settings import get_settings
    from training.tasks import STORE_MODELS

    prepare_home(home)
    os.environ["CINTEL_OFFERS_PATH"] = str(write_demo_catalogue(home))  # its test campaign
    _use_home(home)
    settings = get_settings()
    data_dir = home / "data"
    say(
        f"[1/9] Simulating {customers:,} customers {START}..{END}, product-mix drift from "
        f"{DRIFT_START}"
    )
    sim = synthesize(
        SynthConfig(
            n_customers=customers, start=START, end=END, drift="mix", drift_start=DRIFT_START
        )
    )
    write_synth(sim, data_dir / "all")
    before = load_data(split_before(data_dir / "all", data_dir / "before", DRIFT_START))
    write_costs(data_dir / "all", data_dir / "before")  # so net contribution is not margin

    say("[2/9] Training churn, propensity, segments and CLV on the data before the drift")
    for r in train(before):
        say(f"      {r.model:<10} v{r.version}  {r.metric} {r.score:.3f}  {r.decision}")
    say("[3/9] Materializing the online store (scores for every customer)")
    m = materialize(before, ServiceSettings(home=home), costs=load_costs(data_dir / "before"))
    say(f"      {m.n_customers:,} customers as of {m.as_of:%Y-%m-%d}")

    port = port or _free_port()
    say(f"[4/9] Starting the service on http://127.0.0.1:{port}")
    previous = _exit_on_sigterm()
    svc = Service(home, port, home / "service.log")
    result: dict[str, Any] = {}
    try:
        say(f"      ready in {svc.wait_ready():.0f} s; models {svc.status()['versions']}")
        ids = [str(i) for i in before.customers["customer_id"].tolist()]
        say(f"[5/9] Sending {requests:,} /profile requests (web, shop, call centre)")
        say(
            "      latency p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms".format(
                **send_traffic(svc, ids, requests)
            )
        )
        say("[6/9] Monitoring before the drift (Evidently)")
        quiet = monitor_requests(settings, window_days=1)
        say(f"      {headline(quiet.summary)}")

        say("[7/9] Months pass and the drift arrives: materializing the latest data")
        after = load_data(data_dir / "all")
        first = realised_performance_of_publish(settings, after)  # before it is replaced
        say(f"      the first publish met reality: {first.reason}")
        materialize(after, ServiceSettings(home=home), costs=load_costs(data_dir / "all"))
        time.sleep(3)  # the service reloads the store on its next poll
        window_start = datetime.now(UTC)
        ids = [str(i) for i in after.customers["customer_id"].tolist()]
        send_traffic(svc, ids, requests, seed=1)
        versions_before = svc.status()["versions"]

        say("[8/9] Cycle: monitor -> decide -> retrain -> gate -> promote -> publish")
        cycle = run_cycle(
            data_dir / "all",
            policy=PolicyConfig(consecutive_windows=1, min_rows=1000),
            settings=settings,
            since=window_start,
            also=ECONOMICS_MODELS,  # their first champions: one training, one publish
        )
        drift = cycle.monitor
        if drift is not None:
            say(f"      monitoring: {headline(drift.summary)}")
            if drift.summary.drifted_columns:
                say(f"      drifted inputs: {', '.join(drift.summary.drifted_columns[:6])}")
        say(
            f"      decision: {'retrain' if cycle.decision.retrain else 'no retrain'} - "
            f"{cycle.decision.reason}"
        )
        if cycle.retrained:
            say(f"      {cycle.retrained_text}")
        for done in cycle.trained:
            score = "-" if done["score"] is None else f"{done['score']:.3f}"
            say(
                f"      {done['model']:<13} v{done['version'] or '-'}  {done['metric']} "
                f"{score}  {done['decision']}"
            )
        example = ids[0]
        promoted = {
            m: v for m, v in cycle.after.items() if v is not None and cycle.before.get(m) != v
        }
        # what /status shows: the store models (the prospect model is followed apart)
        served_now = {m: v for m, v in cycle.after.items() if v and m in STORE_MODELS}
        if promoted:
            served = wait_for_versions(svc.status, served_now, SWAP_TIMEOUT_S)
            versions_after = served["models"]
            answer = svc.http.post("/profile", json={"customer_id": example}).json()
            say(
                f"      the running service swapped models: {versions_before} -> "
                f"{versions_after}; /profile answers with {answer['model_versions']}"
            )
        else:
            versions_after = svc.status()["versions"]
            say(f"      nothing was promoted; the service keeps {versions_after}")
        say("[9/9] Customer economics of the publish: P&L, potential, cells, lifecycle")
        prospect = next((d for d in cycle.trained if d["model"] == "prospect"), None)
        economics = show_economics(home, data_dir, after, _poster(svc), say, prospect)
        loop = close_the_loop(home, data_dir, _poster(svc), ids, say)
        result = {
            "loop": loop,
            "economics": economics,
            "cycle": cycle,
            "realised": first.status,
            "quiet": quiet.status,
            "drift": None if drift is None else drift.status,
            "retrained": cycle.decision.retrain,
            "before": versions_before,
            "after": versions_after,
            "promoted": promoted,
            "report": None if drift is None else drift.run_dir,
        }
    finally:
        svc.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    say("\nWhere to look:")
    say(
        f"  MLflow UI:      CINTEL_HOME={home} cintel ui   (then "
        "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning)"
    )
    if result.get("report"):
        say(f"  drift report:   {result['report'] / 'report.html'}")
        say(f"  report history: {settings.reports_dir / 'index.html'}")
        say(
            f"  Evidently UI:   CINTEL_HOME={home} cintel monitor --ui   (then http://127.0.0.1:8000)"
        )
    if result.get("loop") is not None and result["loop"].campaigns_csv is not None:
        say(f"  campaigns:      {result['loop'].campaigns_csv.with_suffix('.html')}")
    say(
        f"  serve it again: CINTEL_HOME={home} CINTEL_OFFERS_PATH={home / 'offers.yaml'} "
        "cintel serve --port 3000"
    )
    say("  API page:       http://127.0.0.1:3000/docs")
    say(
        f"  then:           curl -s -XPOST localhost:3000/profile -H 'content-type: "
        f'application/json\' -d \'{{"customer_id": "{example}", "channel": "web"}}\''
    )
    return result
