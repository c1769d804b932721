"""The one table of models: what each is called, how it is fitted, judged, saved and loaded.

Adding a model is one ``Task`` entry in ``TASKS`` plus its package. The package provides
``fit(snapshot)``, ``evaluate(model, snapshot)``, ``write_artifacts(model, snapshot, dir)``,
a model class with ``load(folder)``, ``predict_frame(features)`` and ``save(folder)``, and
the gate's ``MAIN_METRIC``, ``GREATER_IS_BETTER`` and ``FLOORS``. The packages are imported
only when a task's parts are first needed, so ``cintel --help`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from training.data.features import slugs
from training.minimums import Minimums
from training.mlops.manifest import MANIFEST_FILE

if TYPE_CHECKING:
    from training.data.snapshot import Snapshot


class FittedModel(Protocol):
    """What every fitted model offers the pipeline, the batch jobs and the service."""

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame: ...

    def save(self, path: Path) -> None: ...


@dataclass(frozen=True)
class TaskParts:
    """A model package's functions and gate settings, typed."""

    fit: Callable[[Snapshot], FittedModel]
    evaluate: Callable[[Any, Snapshot], Mapping[str, float]]
    write_artifacts: Callable[..., object]
    load: Callable[[Path], FittedModel]
    main_metric: str
    greater_is_better: bool
    floors: Mapping[str, float]
    # a fit that applies the run's minimums inside the model too (propensity: per family)
    fit_minimums: Callable[[Snapshot, Minimums], FittedModel] | None = None


DEFAULT_MINIMUMS = Minimums()


def activity_labels(_snapshot: Snapshot) -> list[str]:
    """Customers with a history who bought in the horizon (0) or did not (1)."""
    return ["label_churn"]


def family_labels(snapshot: Snapshot) -> list[str]:
    """Bought the family in the horizon, one label per family."""
    return [f"label_buy__{s}" for s in slugs(list(snapshot.families))]


@dataclass(frozen=True)
class Task:
    """One model: its short name (``churn``), registered name and its parts (loaded lazily).

    ``labels`` names the 0/1 columns whose classes the model needs ``minimums`` of in the
    training and the evaluation snapshot (``require``: "all" of them or "any" one);
    segments and CLV have no label of their own and need the activity after as_of."""

    name: str
    summary: str
    parts_loader: Callable[[], TaskParts]
    # the Spark engine's fit (it fits the whole Spark snapshot); None: fitted on the driver
    spark_fit_loader: Callable[[], Callable[..., Any]] | None = None
    labels: Callable[[Snapshot], list[str]] = activity_labels
    require: str = "all"
    minimums: Minimums = DEFAULT_MINIMUMS

    @property
    def registered_name(self) -> str:
        """The MLflow registered model and experiment name, also the bundle's manifest kind."""
        return f"cintel-{self.name}"

    @property
    def parts(self) -> TaskParts:
        return self.parts_loader()


def _churn_spark() -> Callable[..., Any]:
    from training.spark.churn import fit_churn_spark

    return fit_churn_spark


def _propensity_spark() -> Callable[..., Any]:
    from training.spark.propensity import fit_propensity_spark

    return fit_propensity_spark


def _clv_spark() -> Callable[..., Any]:
    from training.spark.clv import fit_clv_spark

    return fit_clv_spark


@cache
def _churn() -> TaskParts:
    from training import churn

    return TaskParts(
        churn.fit,
        churn.evaluate,
        churn.write_artifacts,
        churn.ChurnModel.load,
        churn.MAIN_METRIC,
        churn.GREATER_IS_BETTER,
        churn.FLOORS,
    )


@cache
def _propensity() -> TaskParts:
    from training import propensity

    def fit_minimums(snapshot: Snapshot, minimums: Minimums) -> FittedModel:
        config = propensity.PropensityConfig(
            min_positives=minimums.positives, min_negatives=minimums.negatives
        )
        return propensity.fit(snapshot, config)

    return TaskParts(
        propensity.fit,
        propensity.evaluate,
        propensity.write_artifacts,
        propensity.PropensityModel.load,
        propensity.MAIN_METRIC,
        propensity.GREATER_IS_BETTER,
        propensity.FLOORS,
        fit_minimums,
    )


@cache
def _segments() -> TaskParts:
    from training import segments

    return TaskParts(
        segments.fit,
        segments.evaluate,
        segments.write_artifacts,
        segments.SegmentsModel.load,
        segments.MAIN_METRIC,
        segments.GREATER_IS_BETTER,
        segments.FLOORS,
    )


@cache
def _clv() -> TaskParts:
    from training.clv import learned

    return TaskParts(
        learned.fit,
        learned.evaluate,
        learned.write_artifacts,
        learned.ClvModel.load,
        learned.MAIN_METRIC,
        learned.GREATER_IS_BETTER,
        learned.FLOORS,
    )


TASKS: tuple[Task, ...] = (
    Task("churn", "churn risk with reasons", _churn, _churn_spark),
    Task(
        "propensity",
        "cross-sell propensity per family",
        _propensity,
        _propensity_spark,
        labels=family_labels,
        require="any",
    ),
    Task("segments", "value tiers, RFM and behavioural segments", _segments),
    Task("clv", "customer lifetime value with an interval", _clv, _clv_spark),
)
MODELS: tuple[str, ...] = tuple(t.name for t in TASKS)
_BY_NAME = {t.name: t for t in TASKS}


def task(model: str) -> Task:
    """The task named ``churn`` (or ``cintel-churn``); ValueError naming the choices."""
    short = model.removeprefix("cintel-")
    if short not in _BY_NAME:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
    return _BY_NAME[short]


def load_bundle(bundle: str | Path) -> FittedModel:
    """The model saved in ``bundle`` (a folder with manifest.json), by its manifest kind."""
    folder = Path(bundle)
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"{folder}: not a cintel model bundle (no manifest.json)")
    kind = json.loads(manifest_path.read_text()).get("kind")
    kinds = {t.registered_name: t for t in TASKS}
    if kind not in kinds:
        raise ValueError(f"{manifest_path}: unknown model kind {kind!r}")
    return kinds[kind].parts.load(folder)
