"""Fit the propensity model: one booster per family and kind; too-rare labels are skipped."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xgboost as xgb

from training.data.features import slugs
from training.data.snapshot import Snapshot
from training.propensity.config import PropensityConfig
from training.propensity.encoding import Design
from training.propensity.model import KINDS, PropensityModel, label_column
from training.propensity.train import skip_reason, train_booster

MIN_CUSTOMERS = 50


def check_snapshot(
    labelled: bool, families: Sequence[str], columns: list[str], n_customers: int
) -> list[str]:
    """The family slugs of a snapshot fit for training, or a ValueError saying what is wrong."""
    if not labelled:
        raise ValueError(
            "the snapshot has no labels (the data does not cover the horizon after as_of); "
            "build it with an earlier as_of"
        )
    if n_customers < MIN_CUSTOMERS:
        raise ValueError(
            f"{n_customers} customers in the snapshot; the propensity model needs at least "
            f"{MIN_CUSTOMERS}"
        )
    fam_slugs = slugs(list(families))
    missing = [
        label_column(k, s) for k in KINDS for s in fam_slugs if label_column(k, s) not in columns
    ]
    if missing:
        raise ValueError(f"label columns missing from the snapshot: {', '.join(missing)}")
    return fam_slugs


def fit_all(
    fam_slugs: list[str],
    config: PropensityConfig,
    label_counts: Callable[[str], tuple[int, int]],
    train: Callable[[str, int], xgb.Booster],
) -> tuple[dict[str, xgb.Booster], dict[str, str], dict[str, int]]:
    """Boosters, skip reasons and training sizes for every (kind, family), whatever the engine.

    ``label_counts(column)`` gives (positives, labelled customers); ``train(column, seed)``
    fits one booster on the customers labelled in ``column``."""
    boosters: dict[str, xgb.Booster] = {}
    skipped: dict[str, str] = {}
    n_train: dict[str, int] = {}
    for k_i, kind in enumerate(KINDS):
        for f_i, s in enumerate(fam_slugs):
            key = f"{kind}:{s}"
            if kind == "first" and len(fam_slugs) == 1:
                skipped[key] = (
                    "only one product family: there is no other family to cross-sell; a first "
                    "purchase of the only family is an acquisition, so 'first' is not modelled"
                )
                continue
            column = label_column(kind, s)
            pos, n = label_counts(column)
            reason = skip_reason(pos, n, config)
            if reason is not None:
                skipped[key] = f"{reason} among {n} eligible customers"
                continue
            boosters[key] = train(column, config.seed + 1000 * k_i + f_i)
            n_train[key] = n
    if not boosters:
        detail = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise ValueError(f"no propensity model could be trained (no positive labels?): {detail}")
    return boosters, skipped, n_train


def fit(snapshot: Snapshot, config: PropensityConfig | None = None) -> PropensityModel:
    """One booster per family and kind on a labelled snapshot; too-rare ones are skipped."""
    config = PropensityConfig() if config is None else config
    frame = snapshot.frame
    fam_slugs = check_snapshot(
        snapshot.labelled, snapshot.families, list(frame.columns), len(frame)
    )
    design = Design.fit(frame, snapshot.feature_columns)
    x = design.transform(frame)

    def labels(column: str) -> np.ndarray:
        return frame[column].to_numpy(dtype="float64")

    def counts(column: str) -> tuple[int, int]:
        y = labels(column)
        y = y[~np.isnan(y)]
        return int(y.sum()), len(y)

    def train(column: str, seed: int) -> xgb.Booster:
        y = labels(column)
        rows = ~np.isnan(y)
        return train_booster(x[rows], y[rows], design.names, config, seed)

    boosters, skipped, n_train = fit_all(fam_slugs, config, counts, train)
    return PropensityModel(snapshot.families, design, boosters, skipped, config, n_train)
