"""Segment identities across retrains: new clusters inherit the previous model's ids.

A retrain finds new KMeans centres whose order and names owe nothing to the last model's,
while the offer catalogue selects customers by segment id. So the new centres are matched
one to one with the previous champion's (Hungarian assignment on the distance between
centres, in the new model's scaling): a matched segment keeps the previous id and display
name; a new centre that matches nothing gets a new id. A match counts only when the new
centre is within ``max_ratio`` of the distance from the previous centre to its nearest
other previous centre (0.5: nearer to it than the midpoint to its neighbour); on simulated
data, matched centres sat at 0.01-0.37 of that distance. Ids of previous segments that
nothing matched are retired and never given to a new segment, so a catalogue naming one is
refused at publish instead of silently selecting someone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from training.data.features import slug
from training.segments.config import LOW_ACTIVITY

if TYPE_CHECKING:
    from training.segments.model import SegmentsModel


@dataclass(frozen=True)
class Identities:
    """Per new segment: its id, display name and distance to the previous centre it kept
    (NaN for a new segment); plus every id a previous model used that is not used now."""

    ids: list[str]
    names: list[str]
    match_distance: list[float]
    retired_ids: list[str]


def previous_centres(
    previous: SegmentsModel, columns: Sequence[str], mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """The previous model's centres in the new scaling (a share it lacks counts as 0)."""
    raw = previous.centers * previous.scale_std + previous.scale_mean
    frame = pd.DataFrame(raw, columns=previous.features)
    aligned = frame.reindex(columns=list(columns), fill_value=0.0).to_numpy(dtype="float64")
    return cast(np.ndarray, (aligned - mean) / std)


def match_centres(
    centers: np.ndarray, previous: np.ndarray, max_ratio: float
) -> dict[int, tuple[int, float]]:
    """New centre index -> (previous centre index, distance) for the accepted matches."""
    dist = np.sqrt(((centers[:, None, :] - previous[None, :, :]) ** 2).sum(axis=2))
    between = np.sqrt(((previous[:, None, :] - previous[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(between, np.inf)
    reach = max_ratio * between.min(axis=1)  # inf when the previous model had one centre
    rows, cols = linear_sum_assignment(dist)
    return {
        int(i): (int(j), float(dist[i, j]))
        for i, j in zip(rows, cols, strict=True)
        if dist[i, j] <= reach[j]
    }


def _fresh(name: str, taken: set[str]) -> tuple[str, str]:
    """(id, name) for a new segment: the slug of its name, numbered when already taken."""
    base, number = name, 1
    while slug(name) in taken:
        number += 1
        name = f"{base} {number}"
    return slug(name), name


def assign(
    derived: Sequence[str],
    centers: np.ndarray,
    columns: Sequence[str],
    mean: np.ndarray,
    std: np.ndarray,
    previous: SegmentsModel | None,
    max_ratio: float,
) -> Identities:
    """Ids and names of the new segments (``derived``: the names their behaviour gives)."""
    n = len(derived)
    if previous is None:
        matches: dict[int, tuple[int, float]] = {}
        old_ids: list[str] = []
        retired_before: list[str] = []
    else:
        prev = previous_centres(previous, columns, mean, std)
        matches = match_centres(centers, prev, max_ratio)
        old_ids, retired_before = list(previous.ids), list(previous.retired_ids)
    ids: list[str] = [""] * n
    names: list[str] = [""] * n
    distance = [float("nan")] * n
    for i, (j, d) in matches.items():
        assert previous is not None
        ids[i], names[i], distance[i] = previous.ids[j], previous.names[j], d
    kept = {ids[i] for i in matches}
    retired = [*retired_before, *(s for s in old_ids if s not in kept)]
    taken = {LOW_ACTIVITY, *kept, *(slug(names[i]) for i in matches), *retired}
    for i in range(n):
        if i not in matches:
            ids[i], names[i] = _fresh(derived[i], taken)
            taken.add(ids[i])
    return Identities(ids, names, distance, list(dict.fromkeys(retired)))
