"""``cintel monitor`` and ``cintel cycle``: monitor -> decide -> retrain -> gate -> publish.

A cycle is idempotent and safe from cron: a file lock refuses a second concurrent cycle,
each decision states its reason, and every cycle is recorded (reason, champion versions
before and after) as a run of the MLflow experiment ``cintel-cycles``. A retrain trains
the required models and every optional one (potential, churn-partial, prospect) that has a
champion, each judged by its own gate as ``cintel train`` does (``retrain_models``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from monitoring.monitor import MonitorResult, run_monitor, window_history
from monitoring.policy import PolicyConfig, RetrainDecision, decide
from monitoring.realised import Realised, attach, realised_performance_of_publish
from monitoring.reference import load_service_reference
from monitoring.reports import DriftConfig
from monitoring.request_reader import customer_requests, read_requests, served_by
from training.mlops import registry
from training.mlops.tracking import configure_tracking, get_or_create_experiment
from training.settings import Settings, get_settings
from training.tasks import MODELS, TASKS

CYCLE_EXPERIMENT = "cintel-cycles"
LABEL = "requests"
SNAPSHOT_LABEL = "snapshot"


class CycleLockedError(RuntimeError):
    """Another cycle holds the lock."""


@dataclass
class CycleResult:
    monitor: MonitorResult | None
    decision: RetrainDecision
    before: dict[str, str | None]
    after: dict[str, str | None]
    trained: list[dict[str, Any]] = field(default_factory=list)
    materialized: bool = False
    judged: str = ""  # what the drift step compared, in words
    realised: Realised | None = None
    retrained: list[str] = field(default_factory=list)  # the models a retrain trained

    @property
    def retrained_text(self) -> str:
        """Which models the retrain trained, and the optional ones it left alone, in words."""
        if not self.retrained:
            return "retrained nothing"
        left = [m for m in self.before if m not in self.retrained]
        text = "retrained " + ", ".join(self.retrained)
        return text + (f" (no champion, left alone: {', '.join(left)})" if left else "")


@contextmanager
def cycle_lock(home: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on ``home/cycle.lock``; released even on error."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "cycle.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise CycleLockedError(
                f"another cintel cycle is running ({holder}); try again when it ends"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# what a cycle follows: the required models and the optional ones ``cintel train`` trains
CYCLE_MODELS: tuple[str, ...] = (
    *MODELS,
    *(t.name for t in TASKS if t.optional and not t.needs),
)


def champions(models: tuple[str, ...] = CYCLE_MODELS) -> dict[str, str | None]:
    """The champion version of each model (None: it has none)."""
    return {m: registry.champion_version(m) for m in models}


def retrain_models(champions_now: dict[str, str | None], also: tuple[str, ...] = ()) -> list[str]:
    """What a retrain trains: every required model, and each optional one that has a
    champion or is named in ``also`` (one that never had one, or was never wanted, is
    left alone)."""
    return [m for m in CYCLE_MODELS if m in MODELS or champions_now.get(m) or m in also]


def _state_path(settings: Settings) -> Path:
    return settings.home / "cycle_state.json"


def _last_retrain(settings: Settings) -> datetime | None:
    path = _state_path(settings)
    if not path.exists():
        return None
    return datetime.fromisoformat(json.loads(path.read_text())["last_retrain_at"])


def _champion_age_days(now: datetime) -> float | None:
    """Age of the churn champion from its ``promoted_at`` tag (None: no champion)."""
    from mlflow import MlflowClient

    version = registry.champion_version("churn")
    if version is None:
        return None
    tags = MlflowClient().get_model_version("cintel-churn", version).tags
    stamp = tags.get("promoted_at")
    if not stamp:
        return 0.0
    return (now - datetime.fromisoformat(stamp)).total_seconds() / 86400


def monitor_requests(
    settings: Settings,
    window_days: float,
    now: datetime | None = None,
    since: datetime | None = None,
    drift: DriftConfig | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> MonitorResult:
    """Compare the request log of the last ``window_days`` (or from ``since``) with the
    reference of the current publish, judging only the requests that publish answered:
    those answered by earlier model versions are left out (and counted in the reason)."""
    now = now or datetime.now(UTC)
    start = since or now - timedelta(days=window_days)
    progress("reading the request log")
    current = customer_requests(read_requests(settings.request_log_dir, since=start))
    reference = load_reference(settings)
    versions = reference.attrs.get("versions")
    note = ""
    if versions:
        served = served_by(current, versions)
        left_out = len(current) - len(served)
        if left_out:
            named = ", ".join(f"{m} v{v}" for m, v in sorted(versions.items()))
            note = (
                f" ({left_out:,} requests of the window were answered by other model versions "
                f"than the current publish's ({named}) and were left out)"
            )
        current = served
    return run_monitor(current, reference, settings, LABEL, drift, note=note, progress=progress)


def load_reference(settings: Settings) -> pd.DataFrame:
    """What the service served when the current champions were published
    (``store/reference.parquet``, see ``serving.batch.materialize.write_reference``); before any
    materialization, the champions' training reference samples. ``attrs["versions"]``
    names the model versions the reference belongs to (None when unknown)."""
    path = settings.store_dir / "reference.parquet"
    if path.exists():
        frame = pd.read_parquet(path)
        meta = settings.store_dir / "reference.json"
        try:
            versions = json.loads(meta.read_text()).get("versions") if meta.exists() else None
        except (OSError, json.JSONDecodeError):
            versions = None
        frame.attrs["versions"] = versions
        return frame
    return load_service_reference(settings=settings)


def monitor_frame(
    settings: Settings,
    current: pd.DataFrame,
    label: str,
    drift: DriftConfig | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> MonitorResult:
    """Compare any frame (e.g. the latest snapshot's features) with the reference."""
    return run_monitor(current, load_reference(settings), settings, label, drift, progress=progress)


def _has_requests(settings: Settings) -> bool:
    folder = Path(settings.request_log_dir)
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def _monitor_step(
    settings: Settings,
    data: Any,
    champions_now: dict[str, str | None],
    window_days: float,
    now: datetime,
    since: datetime | None,
    drift: DriftConfig | None,
    progress: Callable[[str], None] = lambda _m: None,
) -> tuple[MonitorResult | None, str]:
    """Drift of the request log, or (no request log: a batch-only deployment, or cron before
    traffic) of the data's latest snapshot, against the champions' reference; and in words
    what was judged. Without champions there is no reference and nothing to judge."""
    from training.data.snapshot import build_snapshot

    if not any(champions_now.values()):
        return None, "nothing to judge for drift: no champion, so no reference yet"
    if _has_requests(settings):
        result = monitor_requests(settings, window_days, now, since, drift, progress)
        return result, f"judged the request log ({result.summary.n_current:,} requests) for drift"
    progress("computing the data's latest snapshot")
    snap = build_snapshot(data, None, horizon_days=1)
    current = snap.frame[["customer_id", *snap.feature_columns]]
    result = monitor_frame(settings, current, SNAPSHOT_LABEL, drift, progress)
    return result, (
        f"no request log in {settings.request_log_dir}: judged the data's latest snapshot "
        f"(as of {snap.as_of:%Y-%m-%d}, {len(current):,} customers) for drift"
    )


def _record(result: CycleResult, settings: Settings) -> None:
    """One finished run in ``cintel-cycles`` with the reason and versions before/after."""
    from mlflow import MlflowClient

    client = MlflowClient()
    exp = get_or_create_experiment(CYCLE_EXPERIMENT, settings)
    run = client.create_run(exp, run_name=f"cycle {datetime.now(UTC):%Y-%m-%d %H:%M}")
    rid = run.info.run_id
    client.set_tag(rid, "decision", "retrain" if result.decision.retrain else "no retrain")
    client.set_tag(rid, "reason", result.decision.reason[:5000])
    for model in result.before:
        client.log_param(rid, f"before.{model}", result.before.get(model) or "none")
        client.log_param(rid, f"after.{model}", result.after.get(model) or "none")
    client.log_metric(rid, "retrained", float(result.decision.retrain))
    client.set_tag(rid, "retrained_models", ",".join(result.retrained) or "none")
    client.log_metric(
        rid, "promoted", float(sum(r["decision"] == "promoted" for r in result.trained))
    )
    if result.monitor is not None:
        client.set_tag(rid, "report_dir", str(result.monitor.run_dir))
        report = result.monitor.run_dir / "report.html"
        if report.exists():
            client.log_artifact(rid, str(report))  # the drift report the decision read
        if result.monitor.summary.drift_share is not None:
            client.log_metric(rid, "drift_share", result.monitor.summary.drift_share)
    client.set_tag(rid, "judged", result.judged[:5000])
    if result.realised is not None:
        client.set_tag(rid, "realised", result.realised.reason[:5000])
        if result.realised.performance_drop is not None:
            client.log_metric(rid, "performance_drop", result.realised.performance_drop)
    client.set_terminated(rid, "FINISHED")


def run_cycle(
    data_dir: Path,
    window_days: float = 7.0,
    policy: PolicyConfig | None = None,
    force: bool = False,
    settings: Settings | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    since: datetime | None = None,
    drift: DriftConfig | None = None,
    also: tuple[str, ...] = (),
) -> CycleResult:
    """One cycle; retraining publishes new champions to the online store by materializing.
    ``also``: optional models a retrain trains even without a champion (the demo gets
    their first champions from its cycle's one retrain and publish).

    ``drift`` (its ``drift_share`` above all) decides whether the window drifted; the
    policy counts drifted windows, so the report and the decision cannot disagree."""
    from serving.batch.materialize import materialize
    from serving.settings import ServiceSettings
    from training.data.io import load_data
    from training.economics.cells_config import load_cells
    from training.economics.costs import load_costs
    from training.pipeline import train

    settings = settings or get_settings()
    configure_tracking(settings)
    with cycle_lock(settings.home):
        now = datetime.now(UTC)
        before = champions()
        progress("reading the data")
        data = load_data(data_dir)
        # read before any work: a bad costs.yaml or cells.yaml stops the cycle, not its publish
        costs, cells = load_costs(data_dir), load_cells(data_dir, settings.home)
        monitored, judged = _monitor_step(
            settings, data, before, window_days, now, since, drift, progress
        )
        progress(judged)
        realised = None
        if any(before.values()):
            progress("realised performance of the published champions")
            realised = realised_performance_of_publish(settings, data)
            if monitored is not None:
                attach(realised, monitored.run_dir)
        label = monitored.label if monitored is not None else LABEL
        decision = decide(
            window_history(settings.reports_dir, label),
            _champion_age_days(now),
            _last_retrain(settings),
            now,
            realised.performance_drop if realised is not None else None,
            len(data.customers),
            policy,
        )
        if force and not decision.retrain:
            decision = RetrainDecision(True, f"forced by --force ({decision.reason})")
        result = CycleResult(monitored, decision, before, before, judged=judged, realised=realised)
        if decision.retrain:
            progress("retraining: " + decision.reason)
            result.retrained = retrain_models(before, also)
            progress(result.retrained_text)
            results = train(data, models=result.retrained, progress=progress)
            result.trained = [asdict(r) for r in results]
            _state_path(settings).write_text(json.dumps({"last_retrain_at": now.isoformat()}))
            result.after = champions()
            if all(result.after[m] for m in MODELS):
                progress("publishing the champions to the online store")
                # priced and celled as `cintel materialize --data` does: the data folder's
                # costs.yaml and cells.yaml (a cycle used to publish every cost as 0)
                materialize(
                    data,
                    ServiceSettings(home=settings.home),
                    progress=progress,
                    costs=costs,
                    cells=cells,
                )
                result.materialized = True
        _record(result, settings)
        _workspace_decision(result, settings, now)
        return result


def _workspace_decision(result: CycleResult, settings: Settings, now: datetime) -> None:
    """The decision in Evidently's workspace beside the windows (``cintel monitor --ui``;
    the realised figures are added where they are measured, ``monitoring.realised``); a
    workspace that cannot take it costs the dashboard a point, never the cycle."""
    from monitoring.workspace import add_decision

    figures: dict[str, float | None] = {}
    if result.monitor is not None:
        figures["drift_share"] = result.monitor.summary.drift_share
    try:
        add_decision(settings.home, result.decision.retrain, result.decision.reason, figures, now)
    except Exception as exc:  # any failure of a UI store is reported, not fatal
        logging.getLogger(__name__).warning("Evidently workspace: decision not added (%s)", exc)


def parse_every(text: str) -> float:
    """'30s', '15m', '6h', '1d' -> seconds; ValueError naming the accepted forms."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not value.replace(".", "", 1).isdigit() or float(value) <= 0:
        raise ValueError(f"--every {text!r}: use a positive number and a unit, e.g. 15m, 6h, 1d")
    return float(value) * units[unit]
