"""The current champion re-evaluated on a training run's evaluation snapshot, or why not."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from mlflow import MlflowClient

from training.data.snapshot import Snapshot
from training.mlops.modellog import download_bundle
from training.mlops.tracking import model_name
from training.mlops.verify import load_and_smoke_isolated, mark_unusable
from training.tasks import TaskParts


def judge_champion(
    model: str, parts: TaskParts, version: str | None, evaluation: Snapshot
) -> tuple[dict[str, float] | None, str | None]:
    """The champion re-evaluated on this run's evaluation snapshot, or (None, why not).

    A champion that does not download or load is tagged ``serving.load_error``; one that
    cannot score this data (a changed family set) or gives no finite main metric is only
    reported: the gate then judges the challenger on the absolute floors alone."""
    if version is None:
        return None, None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            bundle = download_bundle(model, version, Path(tmp))
            load_and_smoke_isolated(model, Path(tmp))  # a corrupt .ubj can crash a process
            champion = parts.load(bundle)
        except Exception as exc:  # a corrupt artifact: say so, judge on floors
            reason = f"{type(exc).__name__}: {exc}"
            mark_unusable(model_name(model), version, reason, MlflowClient())
            return None, f"does not load ({reason})"
        try:
            metrics = dict(parts.evaluate(champion, evaluation))
        except Exception as exc:  # e.g. the family set changed
            return None, f"cannot score this data ({type(exc).__name__}: {exc})"
    score = metrics.get(parts.main_metric)
    if score is None or not math.isfinite(score):
        return None, f"scores {parts.main_metric} = {score} on this data"
    return metrics, None
