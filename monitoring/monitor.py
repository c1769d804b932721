"""One monitoring run: report folder, browsable index and key figures in MLflow."""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from monitoring.policy import WindowSummary
from monitoring.report_page import header_html, with_header
from monitoring.reports import DriftConfig, DriftSummary, drift_report
from training.settings import Settings

EXPERIMENT = "cintel-monitoring"
STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class MonitorResult:
    """Where one run's files went, its summary and its MLflow run (None when not tracked)."""

    run_dir: Path
    summary: DriftSummary
    label: str
    created_at: datetime
    mlflow_run_id: str | None

    @property
    def status(self) -> str:
        return self.summary.status


def _write(path: Path, text: str) -> None:
    """Write atomically: readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _run_dir(reports_dir: Path, now: datetime) -> Path:
    """``reports_dir/<UTC stamp>``, suffixed ``-2``, ``-3``... when two runs share a second."""
    base = now.astimezone(UTC).strftime(STAMP)
    for n in range(1, 1000):
        path = reports_dir / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"too many monitoring runs at {base}")


def _placeholder_html(label: str, summary: DriftSummary) -> str:
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(label)}</title>"
        f"<h1>{html.escape(label)}: {summary.status}</h1><p>{html.escape(summary.reason)}</p>"
    )


def run_monitor(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    settings: Settings,
    label: str,
    config: DriftConfig | None = None,
    track: bool = True,
    now: datetime | None = None,
    note: str = "",
    progress: Callable[[str], None] = lambda _m: None,
) -> MonitorResult:
    """Compare ``current`` with ``reference`` and record the result.

    Writes ``settings.reports_dir/<UTC stamp>/`` with report.html (Evidently's report, or a
    one-paragraph page when the window could not be judged), snapshot.json (Evidently's
    full snapshot, loadable with ``evidently.core.report.Snapshot.load``; absent when not
    judged) and summary.json; regenerates ``reports_dir/index.html``; and, when ``track``,
    logs one run to the MLflow experiment ``cintel-monitoring``. ``note`` is appended to the
    summary's reason (e.g. which requests were left out of the window). ``progress`` hears
    each step.
    """
    now = now or datetime.now(UTC)
    progress(f"computing drift with Evidently ({len(current):,} rows vs {len(reference):,})")
    summary, snapshot = drift_report(current, reference, config)
    if note:
        summary = replace(summary, reason=summary.reason + note)
    run_dir = _run_dir(Path(settings.reports_dir), now)
    progress("writing the report")
    if snapshot is not None:
        head = header_html(
            label, summary, config or DriftConfig(), reference.attrs.get("versions"), now
        )
        _write(run_dir / "report.html", with_header(snapshot.get_html_str(as_iframe=False), head))
        _write(run_dir / "snapshot.json", snapshot.dumps())
        if track:
            progress("adding the run to the Evidently workspace")
            _to_workspace(settings, snapshot, label, summary.status, now)
    else:
        _write(run_dir / "report.html", _placeholder_html(label, summary))
    if track:
        progress("logging the run to MLflow")
    run_id = _track(summary, label, now, run_dir, settings) if track else None
    record = {
        "label": label,
        "created_at": now.isoformat(timespec="seconds"),
        "mlflow_run_id": run_id,
        **summary.to_dict(),
    }
    _write(run_dir / "summary.json", json.dumps(record, indent=2, default=str))
    write_index(Path(settings.reports_dir))
    return MonitorResult(run_dir, summary, label, now, run_id)


def _to_workspace(
    settings: Settings, snapshot: Any, label: str, status: str, now: datetime
) -> None:
    """The run in Evidently's workspace (``cintel monitor --ui``); a workspace that cannot
    take it costs the UI that run, never the monitoring itself."""
    from monitoring.workspace import add_run

    try:
        add_run(settings.home, snapshot, label, status, now)
    except Exception as exc:  # any failure of a UI store is reported, not fatal
        logging.getLogger(__name__).warning("Evidently workspace: run not added (%s)", exc)


def metrics_of(summary: DriftSummary) -> dict[str, float]:
    """The figures charted in MLflow: counts, drift share and each prediction's drift."""
    figures: dict[str, float] = {
        "n_current": summary.n_current,
        "n_reference": summary.n_reference,
        "n_drifted_columns": len(summary.drifted_columns),
    }
    if summary.drift_share is not None:
        figures["drift_share"] = summary.drift_share
    if summary.max_prediction_drift is not None:
        figures["prediction_drift_max"] = summary.max_prediction_drift
    for column, drift in summary.prediction_drift.items():
        figures[f"pred_drift.{column}"] = drift["score"]
    return {k: float(v) for k, v in figures.items()}


def _track(
    summary: DriftSummary, label: str, now: datetime, run_dir: Path, settings: Settings
) -> str:
    """Log one run to ``cintel-monitoring`` with the client (leaves any active run alone)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    from training.mlops.tracking import configure_tracking, get_or_create_experiment

    configure_tracking(settings)
    experiment_id = get_or_create_experiment(EXPERIMENT, settings)
    client = MlflowClient()
    tags = {
        "status": summary.status,
        "label": label,
        "reason": summary.reason[:5000],
        "report_dir": str(run_dir.resolve()),
        "drifted_columns": ",".join(summary.drifted_columns)[:5000],
    }
    run = client.create_run(experiment_id, run_name=f"{label}@{now:%Y-%m-%dT%H:%M}", tags=tags)
    stamp = int(now.timestamp() * 1000)
    metrics = [Metric(k, v, stamp, 0) for k, v in metrics_of(summary).items()]
    client.log_batch(run.info.run_id, metrics=metrics, tags=[RunTag("cintel.kind", "monitor")])
    client.log_dict(run.info.run_id, summary.to_dict(), "summary.json")
    client.log_artifact(run.info.run_id, str(run_dir / "report.html"))  # the drift report
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def read_history(reports_dir: Path) -> list[dict[str, Any]]:
    """Every run's summary.json under ``reports_dir``, newest first (unreadable ones skipped)."""
    runs = []
    for path in Path(reports_dir).glob("*/summary.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        runs.append({**record, "folder": path.parent.name})
    return sorted(runs, key=lambda r: (r.get("created_at", ""), r["folder"]), reverse=True)


def write_index(reports_dir: Path) -> Path:
    """Regenerate ``reports_dir/index.html``: one row per run, newest first."""
    rows = []
    for run in read_history(reports_dir):
        share = run.get("drift_share")
        folder = html.escape(run["folder"])
        cells = [
            html.escape(str(run.get("created_at", ""))),
            html.escape(str(run.get("label", ""))),
            html.escape(str(run.get("status", ""))),
            "" if share is None else f"{share:.2f}",
            html.escape(", ".join(run.get("drifted_columns") or [])),
            html.escape(str(run.get("reason", ""))),
            f'<a href="{folder}/report.html">report</a> · '
            f'<a href="{folder}/summary.json">summary</a>',
        ]
        status = html.escape(str(run.get("status", "")))
        rows.append(f'<tr class="{status}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "UTC time",
            "label",
            "status",
            "drift share",
            "drifted columns",
            "reason",
            "files",
        )
    )
    page = (
        "<!doctype html><meta charset='utf-8'><title>cintel monitoring</title>"
        "<style>body{font-family:sans-serif}td,th{padding:4px 8px;text-align:left}"
        "tr.drift{background:#fde2e2}tr.insufficient_data{color:#777}</style>"
        f"<h1>cintel monitoring runs</h1><table><tr>{head}</tr>{''.join(rows)}</table>"
        + _campaign_links(Path(reports_dir))
    )
    path = Path(reports_dir) / "index.html"
    _write(path, page)
    return path


def _campaign_links(reports_dir: Path) -> str:
    """The campaigns reports (``reports_dir/campaigns/<stamp>/``), newest first."""
    pages = sorted((reports_dir / "campaigns").glob("*/campaigns.html"), reverse=True)
    if not pages:
        return ""
    items = "".join(
        f'<li><a href="campaigns/{html.escape(p.parent.name)}/campaigns.html">'
        f"{html.escape(p.parent.name)}</a> · "
        f'<a href="campaigns/{html.escape(p.parent.name)}/campaigns.csv">csv</a></li>'
        for p in pages
    )
    return f"<h2>campaign reports</h2><ul>{items}</ul>"


def window_history(reports_dir: Path, label: str | None = None) -> list[WindowSummary]:
    """Past runs (optionally of one label) as the policy's WindowSummary, oldest first."""
    windows = []
    for run in read_history(reports_dir):
        if label is not None and run.get("label") != label:
            continue
        scores = [d["score"] for d in (run.get("prediction_drift") or {}).values()]
        windows.append(
            WindowSummary(
                at=datetime.fromisoformat(run["created_at"]),
                status=run.get("status", ""),
                drift_share=run.get("drift_share"),
                prediction_drift=max(scores) if scores else None,
                n_rows=int(run.get("n_current") or 0),
            )
        )
    return windows[::-1]
