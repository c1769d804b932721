"""The one table of models: what each is called, how it is fitted, judged, saved and loaded.

Adding a model is one ``Task`` entry in ``TASKS`` plus its package. The package provides
``fit(snapshot)``, ``evaluate(model, snapshot)``, ``write_artifacts(model, snapshot, dir)``,
a model class with ``load(folder)``, ``predict_frame(features)`` and ``save(folder)``, and
the gate's ``MAIN_METRIC``, ``GREATER_IS_BETTER`` and ``FLOORS``. The packages are imported
only when a task's parts are first needed, so ``cintel --help`` stays fast.

Most models are fitted and judged on the two snapshots of the data (``cintel train``'s
out-of-time protocol). A task with ``needs`` (uplift: the decision log) builds its own
training and evaluation tables from the data and those inputs (``TaskParts.tables``); it is
trained only when named (``ALL_MODELS``), and ``MODELS``, the list that the service and the
retraining cycle require, holds only the tasks without needs; an ``optional`` task
(potential) is trained by ``cintel train`` by default (``DEFAULT_MODELS``) and published
when it has a champion, but nothing requires it. A task with ``own_tables`` (prospect:
signup cohorts) builds its tables from the data alone; a task that is not ``store``
(prospect) scores people without a history on request, so materialize, /profile and
/score leave it out (``STORE_MODELS``).
(potential, the partial-churn head churn-partial) is trained by ``cintel train`` by
default (``DEFAULT_MODELS``) and published when it has a champion, but nothing requires it.
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
    from training.data.contract import CleanData
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
    # a task with needs: (training, evaluation) snapshots from the data and the inputs
    tables: Callable[[CleanData, TaskInputs], tuple[Snapshot, Snapshot]] | None = None

    # a fit that applies the run's minimums inside the model too (propensity: per family)
    fit_minimums: Callable[[Snapshot, Minimums], FittedModel] | None = None
    # metrics against the simulator's ground truth (logged and printed when it is there)
    truth_metrics: Callable[[Any, Snapshot, pd.DataFrame], Mapping[str, float]] | None = None


@dataclass(frozen=True)
class TaskInputs:
    """What tasks with ``needs`` read besides the data folder (``cintel train`` options)."""

    decisions: Path | None = None  # the decision log folder (``--decisions``)
    until: pd.Timestamp | None = None  # use only the data before this date (``--until``)
    # no label window may reach into [holdout_from, ...) (``--holdout-from``)
    holdout_from: pd.Timestamp | None = None
    # the data is complete before this time (the folder's stated end, ``cintel.data_end``):
    # a decision whose response window ends by then has matured; None: the day after the
    # latest transaction
    complete_before: pd.Timestamp | None = None
    ground_truth: pd.DataFrame | None = None  # the simulator's truth, when the data has it
    costs: Any = None  # the data folder's costs.yaml (training.economics.Costs) or None
    cells: Any = None  # cells.yaml (training.economics.cells_config.CellsConfig) or None


DEFAULT_MINIMUMS = Minimums()


def activity_labels(_snapshot: Snapshot) -> list[str]:
    """Customers with a history who bought in the horizon (0) or did not (1)."""
    return ["label_churn"]


def partial_labels(_snapshot: Snapshot) -> list[str]:
    """Customers who bought in the window before as_of and still buy in the horizon, but
    below half of it (1), or not (0; total churners too): ``training.data.labels``."""
    return ["label_partial_churn"]


def family_labels(snapshot: Snapshot) -> list[str]:
    """Bought the family in the horizon, one label per family."""
    return [f"label_buy__{s}" for s in slugs(list(snapshot.families))]


def response_labels(snapshot: Snapshot) -> list[str]:
    """Responded to an offer of the arm (or its withheld offer), one label per arm."""
    return [c for c in snapshot.frame.columns if c.startswith("label_responded__")]


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
    # inputs besides the data (TaskInputs fields); such a task builds its own tables
    needs: tuple[str, ...] = ()
    labels: Callable[[Snapshot], list[str]] = activity_labels
    require: str = "all"
    minimums: Minimums = DEFAULT_MINIMUMS
    # trained by default, but the service and the cycle do not require its champion
    optional: bool = False
    # fitted and judged on tables its package builds from the data alone (TaskParts.tables,
    # e.g. signup cohorts), not on the shared snapshots
    own_tables: bool = False
    # its outputs are per-customer store columns (materialize, /profile, /score); False: it
    # scores people without a history on request (prospect: POST /prospect, cintel prospects)
    store: bool = True

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


def _parts(
    package: Any, model: Any, fit: Callable[..., Any] | None = None, **extra: Any
) -> TaskParts:
    """The parts every model package names alike (``fit``, ``evaluate``,
    ``write_artifacts``, its model class's ``load``, ``MAIN_METRIC``,
    ``GREATER_IS_BETTER``, ``FLOORS``), plus the ``extra`` ones it has."""
    return TaskParts(
        fit or package.fit,
        package.evaluate,
        package.write_artifacts,
        model.load,
        package.MAIN_METRIC,
        package.GREATER_IS_BETTER,
        package.FLOORS,
        **extra,
    )


@cache
def _churn() -> TaskParts:
    from training import churn
    from training.churn.truth import truth_metrics

    return _parts(churn, churn.ChurnModel, truth_metrics=truth_metrics)


@cache
def _churn_partial() -> TaskParts:
    from training import churn

    config = churn.ChurnConfig(target="partial_churn")
    return _parts(churn, churn.ChurnModel, lambda snapshot: churn.fit(snapshot, config))


@cache
def _propensity() -> TaskParts:
    from training import propensity

    def fit_minimums(snapshot: Snapshot, minimums: Minimums) -> FittedModel:
        config = propensity.PropensityConfig(
            min_positives=minimums.positives, min_negatives=minimums.negatives
        )
        return propensity.fit(snapshot, config)

    return _parts(propensity, propensity.PropensityModel, fit_minimums=fit_minimums)


@cache
def _segments() -> TaskParts:
    from training import segments
    from training.segments.metrics import truth_metrics

    return _parts(segments, segments.SegmentsModel, truth_metrics=truth_metrics)


@cache
def _clv() -> TaskParts:
    from training import clv

    return _parts(clv, clv.ClvModel)


@cache
def _uplift() -> TaskParts:
    from training import uplift

    return _parts(uplift, uplift.UpliftModel, tables=uplift.build_tables)


@cache
def _potential() -> TaskParts:
    from training import potential

    return _parts(potential, potential.PotentialModel, truth_metrics=potential.truth_metrics)


@cache
def _prospect() -> TaskParts:
    from training import prospect

    return _parts(
        prospect,
        prospect.ProspectModel,
        tables=prospect.build_tables,
        truth_metrics=prospect.truth_metrics,
    )


def top_tier_labels(_snapshot: Snapshot) -> list[str]:
    """Became a top-tier customer within a year of signing up (0/1)."""
    return ["label_top_tier"]


TASKS: tuple[Task, ...] = (
    Task("churn", "churn risk with reasons", _churn, _churn_spark),
    Task(
        "churn-partial",
        "partial churn risk (still buying, spend below half of the window before) with reasons",
        _churn_partial,
        labels=partial_labels,
        optional=True,
    ),
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
    Task(
        "potential",
        "potential value and share of wallet (upper-quantile spend of similar customers)",
        _potential,
        optional=True,
    ),
    Task(
        "prospect",
        "look-alike score, first-year value and first offer of people from attributes alone",
        _prospect,
        labels=top_tier_labels,
        optional=True,
        own_tables=True,
        store=False,
    ),
    Task(
        "uplift",
        "offer uplift per family from the decision log",
        _uplift,
        needs=("decisions",),
        labels=response_labels,
        require="any",
    ),
)
# required by the service and the cycle: the tasks without needs that are not optional
MODELS: tuple[str, ...] = tuple(t.name for t in TASKS if not t.needs and not t.optional)
# what ``cintel train`` trains by default: the tasks without needs
DEFAULT_MODELS: tuple[str, ...] = tuple(t.name for t in TASKS if not t.needs)
ALL_MODELS: tuple[str, ...] = tuple(t.name for t in TASKS)
# whose outputs the store, /profile and /score carry (the service follows the others apart)
STORE_MODELS: tuple[str, ...] = tuple(t.name for t in TASKS if t.store)
# the churn heads (``cintel train --churn total|partial|both``): one model class, two targets
CHURN_HEADS: dict[str, str] = {"total": "churn", "partial": "churn-partial"}
_BY_NAME = {t.name: t for t in TASKS}


def task(model: str) -> Task:
    """The task named ``churn`` (or ``cintel-churn``); ValueError naming the choices."""
    short = model.removeprefix("cintel-")
    if short not in _BY_NAME:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(ALL_MODELS)}")
    return _BY_NAME[short]


def task_snapshots(
    model: str,
    data: CleanData | None,
    shared: tuple[Snapshot, Snapshot] | None,
    inputs: TaskInputs | None = None,
) -> tuple[Snapshot, Snapshot]:
    """The (training, evaluation) snapshots ``model`` is fitted and judged on: the shared
    pair, or the pair a task with ``needs`` builds from the data and its inputs.
    ValueError (the pipeline then skips the model, saying why) when an input is missing."""
    t = task(model)
    if t.own_tables:
        if data is None:
            raise ValueError(f"{model} trains on the pandas engine only (it builds its own tables)")
        own = t.parts.tables
        if own is None:
            raise ValueError(f"{model}: the task builds its own tables but its package has none")
        return own(data, inputs or TaskInputs())
    if not t.needs:
        if shared is None:
            raise ValueError(f"{model} is trained on the data's snapshots, and none were built")
        return shared
    if data is None:
        raise ValueError(f"{model} trains on the pandas engine only (it joins the decision log)")
    inputs = inputs or TaskInputs()
    missing = [n for n in t.needs if getattr(inputs, n) is None]
    if missing:
        raise ValueError(f"{model} needs --{' --'.join(missing)}")
    tables = t.parts.tables
    if tables is None:
        raise ValueError(f"{model}: the task has needs but its package builds no tables")
    return tables(data, inputs)


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
