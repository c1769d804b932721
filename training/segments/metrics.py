"""Evaluation of the segments model: cohesion, membership fit, tier mix, stability, truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, log_loss
from threadpoolctl import threadpool_limits

from training.data.snapshot import Snapshot
from training.segments import behaviour, tiers
from training.segments.config import TIERS
from training.segments.model import SegmentsModel

MAIN_METRIC = "silhouette"
GREATER_IS_BETTER = True
# k-means on share mixes of real shoppers rarely exceeds 0.3; below 0.05 the segments are
# no better than arbitrary cuts of one blob
FLOORS: dict[str, float] = {"silhouette": 0.05}


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def evaluate(model: SegmentsModel, snapshot: Snapshot) -> dict[str, float]:
    """Metrics on a (later) snapshot, with the same names on every run.

    - ``silhouette``: of the nearest-centre assignment, on at most ``silhouette_sample``
      active customers (NaN when fewer than two segments are present).
    - ``membership_log_loss``/``membership_accuracy``: membership probabilities against
      the nearest-centre assignment of the active customers.
    - ``n_segments``, ``active_share`` and ``tier_share__<tier>`` over all customers.
    """
    frame = snapshot.frame
    active = model.active(frame)
    z = model.scaled(frame)[active]
    labels = behaviour.nearest(z, model.centers)
    out: dict[str, float] = {
        "silhouette": float("nan"),
        "membership_log_loss": float("nan"),
        "membership_accuracy": float("nan"),
    }
    rows = _sample(len(z), model.config.silhouette_sample, model.config.random_state)
    if len(rows) > len(np.unique(labels[rows])):
        with threadpool_limits(limits=model.config.n_threads):
            out["silhouette"] = behaviour.silhouettes(z[rows], {0: labels[rows]})[0]
    if len(z):
        proba = model.proba(frame)[active]
        ks = list(range(model.n_segments))
        out["membership_log_loss"] = float(log_loss(labels, proba, labels=ks))
        out["membership_accuracy"] = float((proba.argmax(axis=1) == labels).mean())
    out["n_segments"] = float(model.n_segments)
    out["active_share"] = float(active.mean()) if len(frame) else float("nan")
    tier = tiers.assign(frame, model.tier_cuts)
    for name in TIERS:
        out[f"tier_share__{name}"] = float((tier == name).mean()) if len(frame) else float("nan")
    return out


def stability_ari(model_a: SegmentsModel, model_b: SegmentsModel, snapshot: Snapshot) -> float:
    """Adjusted Rand between two models' segments of the customers active under both."""
    frame = snapshot.frame
    both = model_a.active(frame) & model_b.active(frame)
    if both.sum() < 2:
        return float("nan")
    return float(adjusted_rand_score(model_a.assign(frame)[both], model_b.assign(frame)[both]))


def archetype_ari(model: SegmentsModel, snapshot: Snapshot, ground_truth: pd.DataFrame) -> float:
    """Adjusted Rand between segments and the simulated archetypes of active customers."""
    for col in ("customer_id", "archetype"):
        if col not in ground_truth.columns:
            raise ValueError(f"ground_truth: required column {col} missing")
    frame = snapshot.frame
    truth = ground_truth.drop_duplicates("customer_id").set_index("customer_id")["archetype"]
    arche = truth.reindex(frame["customer_id"]).to_numpy()
    keep = model.active(frame) & pd.notna(arche)
    if keep.sum() < 2:
        return float("nan")
    return float(adjusted_rand_score(arche[keep].astype(str), model.assign(frame)[keep]))


def truth_metrics(
    model: SegmentsModel, snapshot: Snapshot, ground_truth: pd.DataFrame
) -> dict[str, float]:
    """``adjusted_rand_vs_archetypes`` for ``cintel train`` on simulated data (empty when
    the ground truth has no archetypes)."""
    if "archetype" not in ground_truth.columns:
        return {}
    return {"adjusted_rand_vs_archetypes": archetype_ari(model, snapshot, ground_truth)}
