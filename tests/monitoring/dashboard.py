"""Test helper: a dashboard panel's series as Evidently's UI fetches them (its storage's
``get_data_series``, the call behind the UI's data API), from the workspace files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitoring.workspace import PROJECT, workspace_dir


def panel_series(home: Path, title: str) -> list[tuple[str, list[float | None]]]:
    """(legend, values in time order) of each series the panel ``title`` draws."""
    from evidently.ui.service.base import SeriesFilter
    from evidently.ui.service.storage.local import create_local_project_manager
    from evidently.ui.workspace import Workspace

    path = str(workspace_dir(home))
    (project,) = Workspace(path).search_project(PROJECT)
    (panel,) = [p for p in project.dashboard.model().panels if p.title == title]
    values = getattr(panel, "values", [])
    filters = [
        SeriesFilter(
            tags=v.tags, metadata=v.metadata, metric=v.metric, metric_labels=v.metric_labels
        )
        for v in values
    ]
    manager = create_local_project_manager(path, False)
    answer = asyncio.run(manager.data_storage.get_data_series(project.id, filters, None, None))
    return [(str(values[s.filter_index].legend), list(s.values)) for s in answer.series]
