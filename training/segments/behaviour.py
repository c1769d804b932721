"""Behavioural segments: KMeans on scaled family, channel and weekend shares of active buyers.

Only *active* customers are segmented (at least ``min_purchases`` purchases and gross spend
above ``min_gross_spend``). The number of segments is the k with the best silhouette on a
fixed sample (ties go to the smaller k). Names come from what sets a segment apart: the
family whose mean share is highest relative to the overall mean (among families with at
least ``name_min_share`` of the segment's spend), prefixed by the channel or "weekend"
with the highest such ratio when it reaches ``qualifier_min_ratio``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from training.segments.config import SegmentsConfig

FAM, CHAN, WEEKEND = "fam_share__", "chan_share__", "weekend_share"


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Family shares, channel shares and the weekend share, in frame order."""
    fams = [c for c in frame.columns if c.startswith(FAM)]
    chans = [c for c in frame.columns if c.startswith(CHAN)]
    if not fams:
        raise ValueError("no fam_share__* columns: segments need the family spend mix")
    if WEEKEND not in frame.columns:
        raise ValueError(f"required column {WEEKEND} missing from the features")
    return [*fams, *chans, WEEKEND]


def active_mask(frame: pd.DataFrame, min_purchases: int, min_gross_spend: float) -> np.ndarray:
    """Customers busy enough to be segmented."""
    freq = np.nan_to_num(frame["frequency"].to_numpy(dtype="float64"), nan=0.0)
    gross = np.nan_to_num(frame["gross_spend"].to_numpy(dtype="float64"), nan=0.0)
    return cast(np.ndarray, (freq >= min_purchases) & (gross > min_gross_spend))


def raw_matrix(frame: pd.DataFrame, columns: list[str], fill: np.ndarray) -> np.ndarray:
    """The feature matrix with missing values replaced by ``fill`` (the fit-time means)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"segment features missing from the input: {missing}")
    x = frame[columns].to_numpy(dtype="float64")
    return np.where(np.isfinite(x), x, fill)


def nearest(z: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (squared Euclidean), first one on ties, as KMeans."""
    d = (z**2).sum(axis=1)[:, None] - 2.0 * z @ centers.T + (centers**2).sum(axis=1)[None, :]
    return cast(np.ndarray, d.argmin(axis=1))


def silhouettes(z: np.ndarray, label_sets: dict[int, np.ndarray]) -> dict[int, float]:
    """Mean silhouette of several labellings of the same rows (as sklearn's, NaN when a
    labelling has fewer than two clusters), computing the pairwise distances only once."""
    n = len(z)
    onehots = {}
    for key, labels in label_sets.items():
        _, codes = np.unique(labels, return_inverse=True)
        onehots[key] = np.eye(codes.max() + 1)[codes]
    totals = {key: np.zeros(n) for key in label_sets}
    sq = (z**2).sum(axis=1)
    for start in range(0, n, 1000):
        stop = min(start + 1000, n)
        d2 = sq[start:stop, None] - 2.0 * z[start:stop] @ z.T + sq[None, :]
        dist = np.sqrt(np.clip(d2, 0.0, None))
        dist[np.arange(stop - start), np.arange(start, stop)] = 0.0
        for key, onehot in onehots.items():
            sums = dist @ onehot  # distance from each row to every cluster
            size = onehot.sum(axis=0)
            own = onehot[start:stop].astype(bool)
            a = sums[own] / np.maximum(size[own.argmax(axis=1)] - 1, 1)
            other = np.where(own, np.inf, sums / size)
            b = other.min(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.where(size[own.argmax(axis=1)] > 1, (b - a) / np.maximum(a, b), 0.0)
            totals[key][start:stop] = np.nan_to_num(s, nan=0.0)
    return {
        key: float(totals[key].mean()) if onehots[key].shape[1] >= 2 else float("nan")
        for key in label_sets
    }


@dataclass(frozen=True)
class Clustering:
    """The chosen KMeans centres and the silhouette of every k tried."""

    centers: np.ndarray
    silhouettes: dict[int, float]
    fit_rows: np.ndarray  # positions (in the active matrix) the clustering was fitted on


def choose_k(z: np.ndarray, config: SegmentsConfig) -> Clustering:
    """KMeans for each k in range; keep the one with the best sampled silhouette."""
    rng = np.random.default_rng(config.random_state)
    n = len(z)
    fit_rows = (
        np.sort(rng.choice(n, config.fit_sample, replace=False))
        if n > config.fit_sample
        else np.arange(n)
    )
    zf = z[fit_rows]
    sil_rows = np.sort(rng.choice(len(zf), min(len(zf), config.silhouette_sample), replace=False))
    k_max = min(config.k_max, len(zf) - 1)
    fits = {
        k: KMeans(k, n_init=config.n_init, random_state=config.random_state).fit(zf)
        for k in range(config.k_min, k_max + 1)
    }
    scores = silhouettes(zf[sil_rows], {k: km.labels_[sil_rows] for k, km in fits.items()})
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    if not finite:
        raise ValueError(
            "no k gave at least two non-empty segments: the active customers "
            "have (almost) identical spend mixes"
        )
    k_best = max(finite, key=lambda k: (finite[k], -k))
    return Clustering(np.asarray(fits[k_best].cluster_centers_, dtype="float64"), scores, fit_rows)


def _word(column: str) -> str:
    if column == WEEKEND:
        return "weekend"
    return column.split("__", 1)[1].replace("_", " ")


def name_segments(
    seg_means: np.ndarray, overall: np.ndarray, columns: list[str], config: SegmentsConfig
) -> tuple[list[str], list[list[str]]]:
    """Unique names and the defining feature columns of each segment."""
    ratio = seg_means / np.where(overall > 0, overall, np.nan)
    ratio = np.nan_to_num(ratio, nan=0.0)
    fam = np.array([c.startswith(FAM) for c in columns])
    qual = ~fam
    names, defining, alternates = [], [], []
    for i in range(len(seg_means)):
        eligible = fam & (seg_means[i] >= config.name_min_share)
        eligible = eligible if eligible.any() else fam
        fam_order = [j for j in np.argsort(-ratio[i], kind="stable") if eligible[j]]
        cols = [columns[fam_order[0]]]
        prefix = ""
        if qual.any():
            q = max(np.flatnonzero(qual), key=lambda j: (ratio[i, j], -j))
            if ratio[i, q] >= config.qualifier_min_ratio:
                prefix = _word(columns[q]) + " "
                cols.append(columns[q])
        names.append(prefix + _word(cols[0]))
        defining.append(cols)
        second = fam_order[1] if len(fam_order) > 1 else None
        alternates.append(None if second is None else f"{names[-1]} & {_word(columns[second])}")
    return _unique(names, alternates), defining


def _unique(names: list[str], alternates: list[str | None]) -> list[str]:
    """Disambiguate repeated names with the second family, then with a number."""
    counts = pd.Series(names).value_counts()
    out = [alt if counts[n] > 1 and alt else n for n, alt in zip(names, alternates, strict=True)]
    seen: dict[str, int] = {}
    final = []
    for n in out:
        seen[n] = seen.get(n, 0) + 1
        final.append(n if seen[n] == 1 else f"{n} {seen[n]}")
    if len(set(final)) != len(final):  # "x 2" already taken by a real name: number them all
        final = [f"{n} {i + 1}" for i, n in enumerate(final)]
    return final


def usage_table(
    raw: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    defining: list[list[str]],
    columns: list[str],
    config: SegmentsConfig,
) -> pd.DataFrame:
    """Per segment and defining feature: mean, median, overall mean, ratio, thresholds."""
    overall = raw.mean(axis=0)
    rows = []
    for i, name in enumerate(names):
        member = raw[labels == i]
        for col in defining[i]:
            j = columns.index(col)
            mean = float(member[:, j].mean()) if len(member) else float("nan")
            rows.append(
                {
                    "segment": name,
                    "n_customers": len(member),
                    "feature": col,
                    "segment_mean": mean,
                    "segment_median": float(np.median(member[:, j]))
                    if len(member)
                    else float("nan"),
                    "overall_mean": float(overall[j]),
                    "ratio_to_overall": mean / overall[j] if overall[j] > 0 else float("nan"),
                    "min_purchases": config.min_purchases,
                    "min_gross_spend_above": config.min_gross_spend,
                }
            )
    return pd.DataFrame(rows)
