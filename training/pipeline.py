"""``cintel train``: out-of-time training, MLflow logging, registration and the gate.

Protocol: with ``as_of`` the end of the evaluation window (default: the day after the last
transaction) and H the horizon, every model is fitted on the snapshot at t0 = t1 − L
(labels in [t0, t1)) and evaluated on the snapshot at t1 = as_of − H (labels in
[t1, as_of)); L = H when the history allows, else the longest window that fits
(``training.train_windows``), and churn then answers for H (``ChurnModel.at_horizon``).
``origins`` > 1 stacks training snapshots L days apart. The current champion is evaluated
on the same t1 snapshot, and the gate compares the two.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from training.data.contract import CleanData
from training.data.snapshot import Snapshot, build_snapshot, default_as_of, stack_snapshots
from training.minimums import Minimums, evidence_shortfall
from training.mlops import registry
from training.mlops.judging import judge_champion
from training.mlops.modellog import as_params, download_bundle, example_rows, log_bundle_model
from training.mlops.notes import NOTE_TAG, log_comparison, run_description
from training.mlops.promotion import run_gate
from training.mlops.tracking import (
    configure_tracking,
    log_reference_sample,
    log_snapshot_input,
    training_run,
)
from training.tasks import MODELS, Task, TaskInputs, TaskParts, task, task_snapshots
from training.train_windows import TrainWindows, plan_train

DEFAULT_TOLERANCE = 0.005
REFERENCE_ROWS = 5000


@dataclass(frozen=True)
class TrainResult:
    """One line of the summary table."""

    model: str
    version: str | None
    metric: str
    score: float | None
    champion_before: str | None
    champion_after: str | None
    decision: str
    reason: str
    # figures against the simulator's ground truth (potential: rank correlations)
    truth: dict[str, float] = field(default_factory=dict)


def windows(as_of: pd.Timestamp, horizon_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(t0, t1) of the full protocol (L = H): the training and the evaluation snapshot dates."""
    h = pd.Timedelta(days=horizon_days)
    return as_of - 2 * h, as_of - h


def plan_windows(
    data: CleanData,
    as_of: pd.Timestamp | None,
    horizon_days: int,
    holdout_from: pd.Timestamp | None = None,
) -> TrainWindows:
    """The run's windows (``training.train_windows``): clear errors when they do not fit."""
    end = default_as_of(data) if as_of is None else pd.Timestamp(as_of)
    return plan_train(data.transactions["ts"].min(), end, horizon_days, holdout_from)


def training_origins(w: TrainWindows, origins: int) -> list[pd.Timestamp]:
    """Up to ``origins`` training snapshot dates, ``w.label_days`` apart from t0 back, each
    with at least one label window of history before it (the rest are dropped)."""
    step = pd.Timedelta(days=w.label_days)
    dates = [w.fit_as_of - k * step for k in range(max(origins, 1))]
    return [d for d in dates if d == w.fit_as_of or d - w.data_start >= step]


def build_snapshots(
    data: CleanData,
    as_of: pd.Timestamp | None,
    horizon_days: int,
    holdout_from: pd.Timestamp | None = None,
    origins: int = 1,
) -> tuple[Snapshot, Snapshot]:
    """Training (L-day labels, ``origins`` stacked) and evaluation (H-day) snapshots."""
    w = plan_windows(data, as_of, horizon_days, holdout_from)
    stacked = [
        build_snapshot(data, t, w.label_days, require_labels=True)
        for t in training_origins(w, origins)
    ]
    evaluation = build_snapshot(data, w.eval_as_of, horizon_days, require_labels=True)
    return stack_snapshots(stacked), evaluation


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}


def _log_run(
    model: str,
    parts: TaskParts,
    fitted: Any,
    config: Any,
    train: Snapshot,
    evaluation: Snapshot,
    metrics: dict[str, float],
    transactions: pd.DataFrame | None,
    extra_params: dict[str, Any] | None = None,
    costs: Any = None,
    cells: Any = None,
) -> str:
    """Log params, metrics, inputs, report artifacts, reference sample and the bundle."""
    with training_run(model, run_name=f"{model}@{train.as_of:%Y-%m-%d}") as run:
        mlflow.set_tag(NOTE_TAG, run_description(model, task(model).summary, train, evaluation))
        mlflow.log_params(
            {
                "train_as_of": f"{train.as_of:%Y-%m-%d}",
                "eval_as_of": f"{evaluation.as_of:%Y-%m-%d}",
                "horizon_days": evaluation.horizon_days,
                "label_days": train.horizon_days,
                "n_origins": train.n_origins,
                "n_train_customers": len(train.frame),
                "n_eval_customers": len(evaluation.frame),
                "families": ",".join(train.families),
                **as_params(config),
                **(extra_params or {}),
            }
        )
        if hasattr(fitted, "mlflow_params"):  # e.g. the fitted BG/NBD and Gamma-Gamma params
            mlflow.log_params(fitted.mlflow_params())
        mlflow.log_metrics(_finite(metrics))
        features = train.frame[["customer_id", *train.feature_columns]]
        log_snapshot_input(features, train.as_of, train.digest, "training")
        eval_features = evaluation.frame[["customer_id", *evaluation.feature_columns]]
        log_snapshot_input(eval_features, evaluation.as_of, evaluation.digest, "evaluation")
        with tempfile.TemporaryDirectory() as tmp:
            kwargs: dict[str, Any] = {}
            if model == "propensity":
                kwargs = {"transactions": transactions}
            elif model == "segments" and transactions is not None:
                # lifecycle transitions and value concentration (training.economics)
                # and the value x potential cells (training.segments.cells_report)
                kwargs = {"transactions": transactions, "costs": costs, "cells": cells}
            parts.write_artifacts(fitted, evaluation, Path(tmp), **kwargs)
            mlflow.log_artifacts(tmp, artifact_path="report")
        # the same seeded sample for every model, so references join on customer_id; scoring
        # only the sample keeps the churn model's per-row reasons off the full training set
        sample = features.sample(n=min(REFERENCE_ROWS, len(features)), random_state=0)
        predictions = fitted.predict_frame(sample)
        reference = sample.merge(
            predictions.drop(
                columns=[
                    c for c in predictions.columns if c in sample.columns and c != "customer_id"
                ]
            ),
            on="customer_id",
        )
        log_reference_sample(_scalar_columns(reference))
        # the input example (the smoke test scores it) from rows the model answers for
        defined = getattr(fitted, "defined", None)
        shown = features if defined is None else features.loc[defined(features)]
        info = log_bundle_model(fitted, example_rows(shown if len(shown) else features))
    return info.model_uri if info.model_uri else f"runs:/{run.info.run_id}/model"


def _scalar_columns(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in frame.columns if not frame[c].map(lambda v: isinstance(v, list)).any()]
    return frame[keep]


Fitter = Callable[[Snapshot], Any]


def _own_fit(model: str, parts: TaskParts) -> Fitter:
    """The model's own fit. The segments fit also gets the current champion, so segments
    matching its segments keep their ids across retrains (the offer catalogue names them);
    a champion that cannot be loaded is logged and the segments get new ids."""
    version = registry.champion_version(model) if model == "segments" else None
    if version is None:
        return parts.fit
    from training import segments

    try:
        with tempfile.TemporaryDirectory() as tmp:
            previous = parts.load(download_bundle(model, version, Path(tmp)))
    except (OSError, ValueError, LookupError, mlflow.MlflowException) as exc:
        logging.getLogger(__name__).warning(
            "segments: champion v%s could not be loaded (%s); segment ids start afresh",
            version,
            exc,
        )
        return parts.fit
    if not isinstance(previous, segments.SegmentsModel):
        return parts.fit
    return lambda snapshot: segments.fit(snapshot, previous=previous)


def _fit(
    spec: Task, train: Snapshot, evaluation: Snapshot, fit: Fitter | None, minimums: Minimums
) -> tuple[Any, dict[str, float]]:
    """Check the evidence, fit and evaluate; ValueError with the reason when it cannot."""
    why = evidence_shortfall(spec, train, evaluation, minimums)
    if why is not None:
        raise ValueError(why)
    parts = spec.parts
    if fit is None and parts.fit_minimums is not None:
        fitted = parts.fit_minimums(train, minimums)
    else:
        fitted = (fit or _own_fit(spec.name, parts))(train)
    if hasattr(fitted, "at_horizon"):  # churn: answer for the horizon asked, not L
        fitted = fitted.at_horizon(evaluation.horizon_days)
    return fitted, dict(parts.evaluate(fitted, evaluation))


def train_one(
    model: str,
    data: CleanData | None,
    train: Snapshot,
    evaluation: Snapshot,
    tolerance: float,
    fit: Fitter | None = None,
    extra_params: dict[str, Any] | None = None,
    minimums: Minimums | None = None,
    inputs: TaskInputs | None = None,
) -> TrainResult:
    """Check the evidence, fit, evaluate, log, register as @challenger and gate one model.

    A model without ``minimums`` (default: its table entry's) positives and negatives in
    either snapshot, or whose fit or evaluation refuses the data, is skipped with the
    reason and nothing is registered. ``fit`` replaces the model's own fit (the Spark
    engine's fits ignore the pandas snapshot they are given); without ``data`` the
    propensity report has no basket rules. ``extra_params`` are logged with the run's
    parameters."""
    spec = task(model)
    parts = spec.parts
    before = registry.champion_version(model)
    try:
        fitted, metrics = _fit(spec, train, evaluation, fit, minimums or spec.minimums)
    except ValueError as exc:
        why = str(exc)
        return TrainResult(model, None, parts.main_metric, None, before, before, "skipped", why)
    truth: dict[str, float] = {}
    ground_truth = None if inputs is None else inputs.ground_truth
    if parts.truth_metrics is not None and ground_truth is not None:
        truth = _finite(dict(parts.truth_metrics(fitted, evaluation, ground_truth)))
        metrics = {**metrics, **truth}
    config = getattr(fitted, "config", None)
    transactions = None if data is None else data.transactions
    uri = _log_run(
        model,
        parts,
        fitted,
        config,
        train,
        evaluation,
        metrics,
        transactions,
        extra_params,
        None if inputs is None else inputs.costs,
        None if inputs is None else inputs.cells,
    )
    registered = registry.register_challenger(model, uri)
    version = registered.version
    champion_metrics, unusable = judge_champion(model, parts, before, evaluation)
    champion_figures = None if champion_metrics is None else _finite(champion_metrics)
    decision = run_gate(
        model,
        version,
        _finite(metrics),
        champion_figures,
        parts.main_metric,
        parts.greater_is_better,
        tolerance,
        parts.floors,
        champion_unusable=unusable,
    )
    verdict = f"{'promoted' if decision.promote else 'rejected'}: {decision.reason}"
    if registered.run_id:
        log_comparison(
            registered.run_id, _finite(metrics), champion_figures, parts.main_metric, verdict
        )
    return TrainResult(
        model=model,
        version=str(version),
        metric=parts.main_metric,
        score=metrics.get(parts.main_metric),
        champion_before=before,
        champion_after=registry.champion_version(model),
        decision="promoted" if decision.promote else "rejected",
        reason=decision.reason,
        truth=truth,
    )


def train(
    data: CleanData,
    as_of: pd.Timestamp | None = None,
    horizon_days: int = 90,
    models: Sequence[str] = MODELS,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Callable[[str], None] = lambda _msg: None,
    minimums: Minimums | None = None,
    inputs: TaskInputs | None = None,
    holdout_from: pd.Timestamp | None = None,
    origins: int = 1,
) -> list[TrainResult]:
    """Train the selected models; a model that cannot be trained is skipped with its reason
    and changes nothing in the registry (``minimums`` replaces every model's table entry).
    Raises ValueError when no model could be trained. ``inputs`` reach the tasks with needs
    (uplift: the decision log), which build their own tables
    (``training.tasks.task_snapshots``)."""
    for model in models:
        task(model)  # unknown names fail before any work
    configure_tracking()
    train_snap = eval_snap = None
    if any(not task(m).needs and not task(m).own_tables for m in models):
        progress("building the training and evaluation snapshots")
        train_snap, eval_snap = build_snapshots(data, as_of, horizon_days, holdout_from, origins)
    until = None if as_of is None else pd.Timestamp(as_of)
    holdout = None if holdout_from is None else pd.Timestamp(holdout_from)
    inputs = dataclasses.replace(inputs or TaskInputs(), until=until, holdout_from=holdout)
    return train_snapshots(
        train_snap,
        eval_snap,
        models,
        tolerance,
        data,
        progress=progress,
        minimums=minimums,
        inputs=inputs,
    )


def train_snapshots(
    train_snap: Snapshot | None,
    eval_snap: Snapshot | None,
    models: Sequence[str],
    tolerance: float,
    data: CleanData | None,
    fitters: dict[str, Fitter] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    extra_params: dict[str, Any] | None = None,
    minimums: Minimums | None = None,
    inputs: TaskInputs | None = None,
) -> list[TrainResult]:
    """``train`` from snapshots built elsewhere (the Spark engine); ``fitters`` override a
    model's fit, ``extra_params`` are logged with every run. Tracking must be configured."""
    for model in models:
        task(model)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    fitters = fitters or {}
    shared = None if train_snap is None or eval_snap is None else (train_snap, eval_snap)
    results = []
    for model in models:
        progress(f"training {model}")
        try:
            fit_on, judge_on = task_snapshots(model, data, shared, inputs)
        except ValueError as exc:
            before = registry.champion_version(model)
            results.append(TrainResult(model, None, "", None, before, before, "skipped", str(exc)))
            continue
        results.append(
            train_one(
                model,
                data,
                fit_on,
                judge_on,
                tolerance,
                fitters.get(model),
                extra_params,
                minimums,
                inputs,
            )
        )
    if all(r.decision == "skipped" for r in results):
        reasons = "; ".join(f"{r.model}: {r.reason}" for r in results)
        raise ValueError(f"no model could be trained ({reasons})")
    return results
