"""Which customers the churn model learns from, and the checks before it does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.snapshot import Snapshot

TARGETS = {"churn": "label_churn", "partial_churn": "label_partial_churn"}
MIN_CUSTOMERS = 200
MIN_PER_CLASS = 10


def labelled_rows(snapshot: Snapshot, target: str) -> pd.DataFrame:
    """The customers whose ``target`` label is defined; a clear error when there are none."""
    column = TARGETS[target]
    if not snapshot.labelled or column not in snapshot.frame.columns:
        raise ValueError(
            f"snapshot at {snapshot.as_of:%Y-%m-%d} has no labels ({column}): the data must "
            f"cover {snapshot.horizon_days} days after as_of; choose an earlier as_of"
        )
    return snapshot.frame.loc[snapshot.frame[column].notna()]


def check_labels(y: np.ndarray, column: str) -> None:
    n, pos = len(y), int(y.sum())
    if n < MIN_CUSTOMERS:
        raise ValueError(
            f"churn model needs at least {MIN_CUSTOMERS} customers with a defined {column}; "
            f"the snapshot has {n}"
        )
    if pos == 0:
        raise ValueError(f"no positive labels: no customer has {column} = 1, nothing to learn")
    if min(pos, n - pos) < MIN_PER_CLASS:
        raise ValueError(
            f"{column} needs at least {MIN_PER_CLASS} customers in each class; "
            f"got {pos} positives and {n - pos} negatives out of {n}"
        )
