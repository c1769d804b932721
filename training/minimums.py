"""Enough evidence to train and judge a model: minimum positives and negatives per label.

A model fitted or evaluated on a label window with one positive is junk that still passes a
gate (an AUC on one positive is 0 or 1). Before any fit, ``cintel train`` counts the classes
each model depends on in the training and the evaluation snapshot (pure: a frame in, counts
out); below the minimum the model is skipped with the reason and nothing is registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from training.data.snapshot import Snapshot
    from training.tasks import Task

DEFAULT_MIN_POSITIVES = 10
DEFAULT_MIN_NEGATIVES = 10


@dataclass(frozen=True)
class Minimums:
    """The fewest positives and negatives a label needs in each window."""

    positives: int = DEFAULT_MIN_POSITIVES
    negatives: int = DEFAULT_MIN_NEGATIVES

    def __post_init__(self) -> None:
        if self.positives < 1 or self.negatives < 1:
            raise ValueError(
                f"minimum positives and negatives must be at least 1, got "
                f"{self.positives} and {self.negatives}"
            )


@dataclass(frozen=True)
class ClassCount:
    """Positives and negatives of one 0/1 label column (undefined rows not counted)."""

    label: str
    positives: int
    negatives: int

    def meets(self, minimums: Minimums) -> bool:
        return self.positives >= minimums.positives and self.negatives >= minimums.negatives

    def describe(self) -> str:
        return f"{self.label} has {self.positives} positives and {self.negatives} negatives"


def class_counts(frame: pd.DataFrame, columns: Sequence[str]) -> list[ClassCount]:
    """Counts of each 0/1 column of ``frame``; a missing column counts as no labels."""
    out = []
    for column in columns:
        if column not in frame.columns:
            out.append(ClassCount(column, 0, 0))
            continue
        y = frame[column].to_numpy(dtype="float64")
        y = y[~np.isnan(y)]
        positives = int((y > 0).sum())
        out.append(ClassCount(column, positives, len(y) - positives))
    return out


def _need(minimums: Minimums) -> str:
    return f"at least {minimums.positives} positives and {minimums.negatives} negatives"


def _listed(counts: Sequence[ClassCount]) -> str:
    shown = "; ".join(c.describe() for c in counts[:4])
    return shown + (f" (and {len(counts) - 4} more)" if len(counts) > 4 else "")


def shortfall(
    windows: Sequence[tuple[str, Sequence[ClassCount]]], minimums: Minimums, require: str
) -> str | None:
    """Why the counts of the named windows (training, evaluation) are not enough, or None.

    ``require="all"``: every label must meet the minimums in every window; ``"any"``: at
    least one label must meet them in all windows (propensity, whose families are fitted
    and judged one by one: a family short in either window is left out)."""
    if require not in ("all", "any"):
        raise ValueError(f"require must be 'all' or 'any', got {require!r}")
    if require == "all":
        for window, counts in windows:
            short = [c for c in counts if not c.meets(minimums)]
            if short:
                return f"{window}: every label needs {_need(minimums)}: {_listed(short)}"
        return None
    labels = [c.label for c in windows[0][1]] if windows else []
    good = [
        label
        for label in labels
        if all(c.meets(minimums) for _, counts in windows for c in counts if c.label == label)
    ]
    if good:
        return None
    parts = [
        f"{window}: {_listed([c for c in counts if not c.meets(minimums)])}"
        for window, counts in windows
        if any(not c.meets(minimums) for c in counts)
    ]
    return f"no label has {_need(minimums)} in every window ({'; '.join(parts)})"


def evidence_shortfall(
    spec: Task, train: Snapshot, evaluation: Snapshot, minimums: Minimums
) -> str | None:
    """Why ``spec`` lacks the positives and negatives it needs in either snapshot, or None."""
    windows = [
        (f"{kind} snapshot at {snap.as_of:%Y-%m-%d}", class_counts(snap.frame, spec.labels(snap)))
        for kind, snap in (("training", train), ("evaluation", evaluation))
    ]
    return shortfall(windows, minimums, spec.require)
