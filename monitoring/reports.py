"""Evidently drift and data-quality reports of served traffic against a reference sample.

Defaults (``DriftConfig``), and why:

- ``min_rows=1000``: fewer current rows give status ``insufficient_data`` and no verdict.
  500-row windows alarmed on pure noise in half of the runs, 5,000-row windows never
  (PLATFORM_NOTES); the retraining policy asks for more again before acting.
- ``max_rows=20_000``: each side is sampled (seeded) to at most this many rows; a
  100k x 60 comparison then runs in seconds and the distances barely move.
- Methods are fixed, not Evidently's size-dependent auto choice (K-S p-values at
  <= 1,000 rows, distances above): normed Wasserstein for numbers and Jensen-Shannon for
  categories, threshold 0.1, so every score is a distance (higher = more drift) that
  charts and compares across windows of any size.
- ``drift_share=0.3``: the input window counts as drifted when 30 % of the feature columns
  drift; any drifted prediction column also makes the status ``drift``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from monitoring.columns import Alignment, align

STATUS_OK, STATUS_DRIFT, STATUS_INSUFFICIENT = "ok", "drift", "insufficient_data"


@dataclass(frozen=True)
class DriftConfig:
    """How a window is compared with the reference (see the module docstring)."""

    min_rows: int = 1000
    max_rows: int = 20_000
    seed: int = 0
    drift_share: float = 0.3
    num_method: str = "wasserstein"
    cat_method: str = "jensenshannon"
    threshold: float = 0.1
    prediction_threshold: float = 0.1
    max_categories: int = 50
    prediction_columns: tuple[str, ...] | None = None
    data_summary: bool = True


@dataclass
class DriftSummary:
    """The compact, JSON-able verdict of one monitoring window."""

    status: str
    reason: str
    n_reference: int
    n_current: int
    n_sampled_reference: int = 0
    n_sampled_current: int = 0
    drift_share: float | None = None
    drifted_columns: list[str] = field(default_factory=list)
    column_drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    prediction_drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    skipped_columns: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftSummary:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @property
    def max_prediction_drift(self) -> float | None:
        """The largest prediction drift score, or None when none was measured."""
        scores = [d["score"] for d in self.prediction_drift.values()]
        return max(scores) if scores else None


def headline(summary: DriftSummary) -> str:
    """The verdict in a few words that cannot contradict it: which side drifted (inputs,
    predictions or both), with the inputs' share beside the predictions that drifted.
    A window can drift on one prediction while no input does (input share 0 %)."""
    if summary.drift_share is None:
        return f"{summary.status}: {summary.reason}"
    inputs = len(summary.column_drift)
    share = (
        f"{len(summary.drifted_columns)} of {inputs} input columns drifted "
        f"({summary.drift_share:.0%})"
    )
    drifted = [c for c, d in summary.prediction_drift.items() if d["drifted"]]
    if not drifted:
        return f"{summary.status}: {share}, no prediction drifted"
    named = ", ".join(f"{c} {summary.prediction_drift[c]['score']:.3f}" for c in drifted[:4]) + (
        f" and {len(drifted) - 4} more" if len(drifted) > 4 else ""
    )
    return f"{summary.status}: {len(drifted)} prediction(s) drifted ({named}); {share}"


def sample(frame: pd.DataFrame, max_rows: int, seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows, a seeded random sample when the frame is larger."""
    return frame if len(frame) <= max_rows else frame.sample(n=max_rows, random_state=seed)


def _insufficient(reason: str, n_ref: int, n_cur: int, al: Alignment | None) -> DriftSummary:
    return DriftSummary(
        STATUS_INSUFFICIENT,
        reason,
        n_ref,
        n_cur,
        missing_columns=al.missing if al else [],
        extra_columns=al.extra if al else [],
        skipped_columns=al.skipped if al else {},
    )


def check_window(
    current: pd.DataFrame, reference: pd.DataFrame, config: DriftConfig
) -> tuple[Alignment | None, DriftSummary | None]:
    """Align the frames; a DriftSummary(insufficient_data) when they cannot be judged."""
    n_ref, n_cur = len(reference), len(current)
    if n_ref == 0:
        return None, _insufficient("the reference sample is empty", n_ref, n_cur, None)
    if n_cur < config.min_rows:
        reason = (
            f"only {n_cur} current rows; drift is judged on at least {config.min_rows} "
            "(smaller windows alarm on noise)"
        )
        return None, _insufficient(reason, n_ref, n_cur, None)
    al = align(current, reference, config.prediction_columns, config.max_categories)
    if not al.features and not al.predictions:
        reason = "current and reference share no comparable column"
        return al, _insufficient(reason, n_ref, n_cur, al)
    return al, None


def _drift_items(
    columns: list[str], al: Alignment, config: DriftConfig, threshold: float, count: bool
) -> list:
    """One ValueDrift per column (no preset: its legacy table re-computes and re-plots
    every column and triples the run time) and, with ``count``, a drifted-columns counter
    (the inputs' share, the figure the status and the dashboard read; predictions drift
    one by one, and a second counter drew a second, same-named series on the dashboard)."""
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    def method(column: str) -> str:
        return config.num_method if column in al.numerical else config.cat_method

    counter = DriftedColumnsCount(
        columns=columns,
        drift_share=config.drift_share,
        threshold=threshold,
        num_method=config.num_method,
        cat_method=config.cat_method,
    )
    drifts = [ValueDrift(column=c, method=method(c), threshold=threshold) for c in columns]
    return [counter, *drifts] if count else drifts


def build_report(al: Alignment, config: DriftConfig) -> Any:
    """An Evidently Report: input drift, prediction drift, data summary (with tests)."""
    from evidently import Report
    from evidently.presets import DataSummaryPreset

    items: list[Any] = []
    if al.features:
        items.extend(_drift_items(al.features, al, config, config.threshold, count=True))
    if al.predictions:
        items.extend(
            _drift_items(al.predictions, al, config, config.prediction_threshold, count=False)
        )
    if config.data_summary:
        items.append(DataSummaryPreset(columns=[*al.features, *al.predictions]))
    return Report(items, include_tests=True)


def _dataset(frame: pd.DataFrame, al: Alignment) -> Any:
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(numerical_columns=al.numerical, categorical_columns=al.categorical)
    return Dataset.from_pandas(frame, data_definition=definition)


def column_scores(snapshot: Any) -> dict[str, dict[str, Any]]:
    """Per column: drift score, method, threshold and drifted (the ValueDrift test failed)."""
    result = snapshot.dict()
    failed = {
        t["metric_config"]["metric_id"]: t["status"] == "FAIL"
        for t in result["tests"]
        if t.get("metric_config", {}).get("params", {}).get("type", "").endswith("ValueDrift")
    }
    scores: dict[str, dict[str, Any]] = {}
    for metric in result["metrics"]:
        cfg = metric.get("config", {})
        if not cfg.get("type", "").endswith(":ValueDrift"):
            continue
        score, threshold = float(metric["value"]), float(cfg["threshold"])
        drifted = failed.get(metric["id"], score >= threshold)
        scores[cfg["column"]] = {
            "score": score,
            "method": cfg["method"],
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    return scores


def drift_report(
    current: pd.DataFrame, reference: pd.DataFrame, config: DriftConfig | None = None
) -> tuple[DriftSummary, Any | None]:
    """Compare ``current`` with ``reference``: the summary and the Evidently Snapshot.

    The snapshot is None when the status is ``insufficient_data``. Never raises on an
    empty window or disjoint columns; the summary says why it could not judge.
    """
    config = config or DriftConfig()
    al, verdict = check_window(current, reference, config)
    if verdict is not None or al is None:
        return verdict or _insufficient("nothing to compare", 0, 0, None), None
    cur = sample(al.current, config.max_rows, config.seed)
    ref = sample(al.reference, config.max_rows, config.seed)
    snapshot = build_report(al, config).run(_dataset(cur, al), _dataset(ref, al))
    scores = column_scores(snapshot)
    features = {c: scores[c] for c in al.features if c in scores}
    predictions = {c: scores[c] for c in al.predictions if c in scores}
    drifted = [c for c, s in features.items() if s["drifted"]]
    share = len(drifted) / len(features) if features else 0.0
    drifted_predictions = [c for c, s in predictions.items() if s["drifted"]]
    reasons = []
    if features and share >= config.drift_share:
        reasons.append(
            f"{len(drifted)} of {len(features)} input columns drifted "
            f"(share {share:.2f} >= {config.drift_share})"
        )
    if drifted_predictions:
        reasons.append(f"predictions drifted: {', '.join(drifted_predictions)}")
        if features and share < config.drift_share:  # say the inputs did not, too
            reasons.append(
                f"{len(drifted)} of {len(features)} input columns drifted "
                f"(share {share:.2f} < {config.drift_share})"
            )
    status = STATUS_DRIFT if reasons else STATUS_OK
    if not reasons:
        reasons.append(
            f"{len(drifted)} of {len(features)} input columns drifted "
            f"(share {share:.2f} < {config.drift_share}); no prediction drifted"
        )
    summary = DriftSummary(
        status,
        "; ".join(reasons),
        len(reference),
        len(current),
        n_sampled_reference=len(ref),
        n_sampled_current=len(cur),
        drift_share=share,
        drifted_columns=drifted,
        column_drift=features,
        prediction_drift=predictions,
        missing_columns=al.missing,
        extra_columns=al.extra,
        skipped_columns=al.skipped,
    )
    return summary, snapshot
