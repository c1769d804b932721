"""The head of each drift report (``report.html``): a title, the context a reader needs
(window, reference publish and its model versions, thresholds, status and reason) and a
summary table of the columns ordered by drift score, above Evidently's own report (pure:
strings in, string out)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from monitoring.reports import DriftConfig, DriftSummary

STYLE = (
    "font-family:system-ui,sans-serif;margin:16px 24px;max-width:1100px;"
    "border-bottom:1px solid #ddd;padding-bottom:12px"
)


def summary_rows(summary: DriftSummary) -> list[dict[str, Any]]:
    """Every judged column, the most drifted first: inputs and predictions together."""
    parts = (("input", summary.column_drift), ("prediction", summary.prediction_drift))
    rows = [{"column": c, "kind": kind, **s} for kind, scores in parts for c, s in scores.items()]
    return sorted(rows, key=lambda r: (-float(r["score"]), r["column"]))


def header_html(
    label: str,
    summary: DriftSummary,
    config: DriftConfig,
    versions: Mapping[str, Any] | None,
    at: datetime,
) -> str:
    """The title, context and summary table as an HTML fragment."""
    esc = html.escape
    published = (
        ", ".join(f"{m} v{v}" for m, v in sorted(versions.items())) if versions else "unknown"
    )
    context = [
        ("window", f"{label}: {summary.n_current:,} rows (sampled {summary.n_sampled_current:,})"),
        (
            "reference",
            f"what the service served at the publish of {published}: {summary.n_reference:,} rows",
        ),
        (
            "thresholds",
            f"a window drifts when the share of drifted input columns reaches "
            f"{config.drift_share:g}; a column drifts when its score reaches "
            f"{config.threshold:g} (inputs) or {config.prediction_threshold:g} (predictions); "
            f"methods {config.num_method} (numbers), {config.cat_method} (categories)",
        ),
        ("status", f"{summary.status}: {summary.reason}"),
        ("decision", "retrain or not, and why: the MLflow experiment cintel-cycles"),
    ]
    rows = "".join(
        f"<tr><td>{esc(r['column'])}</td><td>{r['kind']}</td><td>{float(r['score']):.3f}</td>"
        f"<td>{esc(str(r['method']))}</td><td>{float(r['threshold']):g}</td>"
        f"<td>{'<b>drifted</b>' if r['drifted'] else 'no'}</td></tr>"
        for r in summary_rows(summary)
    )
    return (
        f"<section id='cintel-summary' style='{STYLE}'>"
        f"<h1>cintel drift report: {esc(label)}, {at:%Y-%m-%d %H:%M} UTC — "
        f"{esc(summary.status)}</h1>"
        "<table>"
        + "".join(f"<tr><th align='left'>{k}</th><td>{esc(v)}</td></tr>" for k, v in context)
        + "</table><h2>Columns by drift score</h2>"
        "<table><tr><th>column</th><th>kind</th><th>score</th><th>method</th>"
        f"<th>threshold</th><th>drifted</th></tr>{rows}</table>"
        "<p>Evidently's report of every column follows.</p></section>"
    )


def with_header(report_html: str, header: str) -> str:
    """Evidently's HTML page with ``header`` first in its body."""
    at = report_html.find("<body>")
    if at < 0:
        return header + report_html
    at += len("<body>")
    return report_html[:at] + header + report_html[at:]
