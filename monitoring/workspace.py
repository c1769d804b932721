"""Monitoring runs in Evidently's own workspace and UI (``cintel monitor --ui``).

Each judged window's Evidently snapshot is added to the project ``cintel monitoring`` of a
local workspace under ``CINTEL_HOME/evidently``, named by its label, time and status; each
retraining cycle adds a small run of its own (tag ``cycle``) holding its decision (retrain
1/0) and the drift share it read, named by the decision and its reason; and each time a
publish's realised performance is measured (its outcomes matured: ``cintel cycle``, the
demo) a run tagged ``realised`` holds those figures. The project's dashboard, made once,
charts the share of drifted input columns over time, the drift score of
each model's main prediction, the decisions and the realised churn AUC; ``evidently ui``
on loopback shows it with every report. The static ``report.html`` of each run stays
beside it for people without the UI.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

PROJECT = "cintel monitoring"
DESCRIPTION = (
    "Drift of what the service sees against what the champions were published with: one "
    "run per monitored window (cintel monitor, cintel cycle)."
)
# the main prediction of each model, as the request log and the reference name them
PREDICTIONS = {
    "churn": "churn_probability",
    "clv": "clv_12m",
    "alive": "prob_alive",
    "purchases": "expected_purchases",
}
DRIFTED_SHARE = "DriftedColumnsCount"
CYCLE_TAG = "cycle"
REALISED_TAG = "realised"
RETRAIN = "retrain"


def workspace_dir(home: Path) -> Path:
    return Path(home) / "evidently"


def _panels() -> list[Any]:
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import bar_plot_panel, line_plot_panel, text_panel

    return [
        text_panel(
            "cintel: drift of the served inputs and predictions",
            "One point per monitored window (cintel monitor / cycle). A window is drifted "
            "when the share of drifted input columns reaches --drift-share (0.3); the "
            "retraining decision and its reason are in the MLflow experiment cintel-cycles.",
        ),
        line_plot_panel(
            "Share of drifted columns",
            [
                PanelMetric(
                    legend="input columns drifted",
                    metric=DRIFTED_SHARE,
                    metric_labels={"value_type": "share"},
                )
            ],
            "Share of the input columns drifted from the reference (predictions: next panel).",
            size="half",
        ),
        line_plot_panel(
            "Prediction drift per model",
            [
                PanelMetric(legend=model, metric="ValueDrift", metric_labels={"column": column})
                for model, column in PREDICTIONS.items()
            ],
            "Drift score of each model's main prediction (Wasserstein distance, normed).",
            size="half",
        ),
        bar_plot_panel(
            "Retraining decisions",
            [PanelMetric(legend="retrain", metric="MeanValue", metric_labels={"column": RETRAIN})],
            "One bar per cintel cycle: 1 = retrain, 0 = not; each run's name gives the reason.",
            size="half",
        ),
        bar_plot_panel(  # bars: a lone measurement (the demo has one) draws no line
            "Realised performance of the published champions",
            [
                PanelMetric(legend=name, metric="MeanValue", metric_labels={"column": name})
                for name in ("realised_churn_roc_auc", "performance_drop")
            ],
            "One pair of bars per matured publish: churn ROC AUC on its outcomes, and its "
            "drop from training.",
            size="half",
        ),
    ]


def _project(workspace: Any) -> Any:
    from evidently.ui.workspace import Project

    found = workspace.search_project(PROJECT)
    if found:
        return found[0]
    project: Project = workspace.create_project(PROJECT, description=DESCRIPTION)
    for panel in _panels():
        project.dashboard.add_panel(panel)
    return project


def add_run(home: Path, snapshot: Any, label: str, status: str, at: datetime) -> str:
    """Add ``snapshot`` to the workspace's project; returns the run's id."""
    from evidently.ui.workspace import Workspace

    workspace = Workspace(str(workspace_dir(home)))
    project = _project(workspace)
    ref = workspace.add_run(project.id, snapshot, name=f"{label} {at:%Y-%m-%d %H:%M} ({status})")
    return str(ref.id)


def add_decision(
    home: Path, retrain: bool, reason: str, figures: dict[str, float | None], at: datetime
) -> str:
    """One cycle's decision as a run of the project: ``retrain`` (1/0) and ``figures``
    (the drift share it read; None and NaN left out) as one-row means."""
    verdict = "retrain" if retrain else "no retrain"
    name = f"cycle {at:%Y-%m-%d %H:%M}: {verdict} - {reason}"
    return _add_values(home, {RETRAIN: float(retrain), **figures}, [CYCLE_TAG, verdict], name)


def add_realised(home: Path, figures: dict[str, float | None], reason: str, at: datetime) -> str:
    """A publish's realised performance once its outcomes matured (``realised_<metric>``,
    ``performance_drop``) as a run of the project: the realised-performance panel's points."""
    return _add_values(home, figures, [REALISED_TAG], f"{at:%Y-%m-%d %H:%M} {reason}")


def _add_values(home: Path, figures: dict[str, float | None], tags: list[str], name: str) -> str:
    """A run of one-row means of ``figures`` (None and NaN left out), named and tagged."""
    import math

    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MeanValue
    from evidently.ui.workspace import Workspace

    values = {k: float(v) for k, v in figures.items() if v is not None and math.isfinite(v)}
    if not values:
        raise ValueError(f"{name}: no finite figure to add")
    frame = pd.DataFrame([values])
    definition = DataDefinition(numerical_columns=list(values))
    data = Dataset.from_pandas(frame, data_definition=definition)
    report = Report([MeanValue(column=c) for c in values], tags=tags)
    snapshot = report.run(data, None)
    workspace = Workspace(str(workspace_dir(home)))
    return str(workspace.add_run(_project(workspace).id, snapshot, name=name[:250]).id)


def ui_args(home: Path, host: str, port: int) -> list[str]:
    """``evidently ui`` on the workspace (it creates nothing until a run is added)."""
    return [
        sys.executable,
        "-m",
        "evidently.cli",
        "ui",
        "--workspace",
        str(workspace_dir(home)),
        "--host",
        host,
        "--port",
        str(port),
    ]
