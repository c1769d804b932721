"""The published champions' realised figures once the data covers their horizon (I/O edge).

Reads the store (the publish's as_of, versions and scores), the champions' training runs
(their metrics and the churn run's ``horizon_days``), builds a labelled snapshot at that
as_of from the current data, and logs one run to ``cintel-monitoring`` and one to the
Evidently workspace (``monitoring.workspace``, its realised-performance panel); the figures
themselves come from ``monitoring.performance`` (pure).
"""

from __future__ import annotations

import html
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from monitoring.performance import churn_auc_drop, matured_figures, training_figures
from training.data.contract import CleanData
from training.settings import Settings

EXPERIMENT = "cintel-monitoring"


@dataclass(frozen=True)
class Realised:
    """``status`` is ``matured``, ``not_matured`` or ``unavailable``; ``reason`` says why."""

    status: str
    reason: str
    as_of: str | None = None
    horizon_days: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    realised: dict[str, float] = field(default_factory=dict)
    training: dict[str, float] = field(default_factory=dict)
    performance_drop: float | None = None
    mlflow_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: NaN (an undefined figure) becomes None."""
        record = asdict(self)
        for part in ("realised", "training"):
            record[part] = {k: None if math.isnan(v) else v for k, v in record[part].items()}
        return record


def _run_of(model: str, version: str) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and params of the training run behind ``cintel-<model>`` ``version``."""
    from mlflow import MlflowClient

    client = MlflowClient()
    mv = client.get_model_version(f"cintel-{model}", version)
    if not mv.run_id:
        return {}, {}
    data = client.get_run(mv.run_id).data
    return dict(data.metrics), dict(data.params)


def realised_performance_of_publish(
    settings: Settings, data: CleanData, track: bool = True
) -> Realised:
    """The publish in ``settings.store_dir`` judged on ``data``: the figures once the data
    covers as_of + the churn model's horizon, else why not (the policy gets None)."""
    from training.data.labels import data_end
    from training.data.snapshot import build_snapshot

    meta_path, profiles_path = (
        settings.store_dir / "meta.json",
        settings.store_dir / "profiles.parquet",
    )
    if not meta_path.exists() or not profiles_path.exists():
        return Realised("unavailable", "realised performance unknown: nothing published yet")
    meta = json.loads(meta_path.read_text())
    as_of, versions = pd.Timestamp(meta["as_of"]), dict(meta.get("versions") or {})
    if "churn" not in versions:
        return Realised("unavailable", "realised performance unknown: no churn model published")
    runs, params = {}, {}
    for model, version in versions.items():
        runs[model], params[model] = _run_of(model, str(version))
    horizon = int(params["churn"].get("horizon_days", 90))
    needed = as_of + pd.Timedelta(days=horizon) - pd.Timedelta(days=1)
    stamp = f"{as_of:%Y-%m-%d}"
    if data_end(data.transactions) < needed:
        return Realised(
            "not_matured",
            f"realised performance of the {stamp} publish: not matured yet "
            f"(needs data to {needed:%Y-%m-%d}; it ends {data_end(data.transactions):%Y-%m-%d})",
            stamp,
            horizon,
            versions,
        )
    labels = build_snapshot(data, as_of, horizon, require_labels=True).frame
    scores = pd.read_parquet(profiles_path)
    target = params.get("clv", {}).get("target", "margin")
    realised = matured_figures(scores, labels, clv_target=target)
    chosen = (
        scores["clv_model"].mode().iat[0] if "clv_model" in scores and len(scores) else "learned"
    )
    training = training_figures(runs, clv_chosen=str(chosen))
    drop = churn_auc_drop(realised, training)
    shown = "unknown" if drop is None else f"{drop:+.3f}"
    reason = (
        f"realised performance of the {stamp} publish over {horizon} days: churn AUC "
        f"{realised['churn_roc_auc']:.3f} (training {training.get('churn_roc_auc', math.nan):.3f}, "
        f"drop {shown})"
    )
    result = Realised("matured", reason, stamp, horizon, versions, realised, training, drop)
    if track:
        result = Realised(**{**result.__dict__, "mlflow_run_id": _track(result, settings)})
        _to_workspace(result, settings)
    return result


def figures_of(result: Realised) -> dict[str, float | None]:
    """The figures the dashboard charts: ``realised_<metric>`` and ``performance_drop``."""
    figures: dict[str, float | None] = {f"realised_{k}": v for k, v in result.realised.items()}
    figures["performance_drop"] = result.performance_drop
    return figures


def _to_workspace(result: Realised, settings: Settings) -> None:
    """The figures in Evidently's workspace (its realised-performance panel); a workspace
    that cannot take them costs the dashboard a point, never the measurement."""
    from monitoring.workspace import add_realised

    try:
        add_realised(settings.home, figures_of(result), result.reason, datetime.now(UTC))
    except Exception as exc:  # any failure of a UI store is reported, not fatal
        logging.getLogger(__name__).warning("Evidently workspace: realised not added (%s)", exc)


def _track(result: Realised, settings: Settings) -> str:
    """One run in ``cintel-monitoring``: ``realised_<metric>`` and ``training_<metric>``."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    from training.mlops.tracking import configure_tracking, get_or_create_experiment

    configure_tracking(settings)
    client = MlflowClient()
    experiment = get_or_create_experiment(EXPERIMENT, settings)
    run = client.create_run(experiment, run_name=f"realised@{result.as_of}")
    now = int(datetime.now(UTC).timestamp() * 1000)
    metrics = [
        Metric(f"{side}_{name}", value, now, 0)
        for side, figures in (("realised", result.realised), ("training", result.training))
        for name, value in figures.items()
        if not math.isnan(value)
    ]
    if result.performance_drop is not None:
        metrics.append(Metric("performance_drop", result.performance_drop, now, 0))
    params = [Param("as_of", str(result.as_of)), Param("horizon_days", str(result.horizon_days))]
    params += [Param(f"version.{m}", str(v)) for m, v in sorted(result.versions.items())]
    tags = [RunTag("cintel.kind", "realised"), RunTag("reason", result.reason[:5000])]
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def html_section(result: Realised) -> str:
    """A table of realised vs training figures for the report page."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{_fmt(value)}</td>"
        f"<td>{_fmt(result.training.get(name))}</td></tr>"
        for name, value in result.realised.items()
    )
    table = (
        f"<table><tr><th>figure</th><th>realised</th><th>at training</th></tr>{rows}</table>"
        if rows
        else ""
    )
    return (
        "<section id='realised'><h2>Realised performance</h2>"
        f"<p>{html.escape(result.reason)}</p>{table}</section>"
    )


def _fmt(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.4g}"


def attach(result: Realised, run_dir: Path) -> None:
    """Add the figures to a monitoring run's summary.json and report.html."""
    summary = run_dir / "summary.json"
    record = json.loads(summary.read_text()) if summary.exists() else {}
    record["realised_performance"] = result.to_dict()
    summary.write_text(json.dumps(record, indent=2, default=str))
    page = run_dir / "report.html"
    text = page.read_text(encoding="utf-8") if page.exists() else "<!doctype html>"
    section = html_section(result)
    end = text.rfind("</body>")
    text = text[:end] + section + text[end:] if end >= 0 else text + section
    page.write_text(text, encoding="utf-8")
