"""Three-dimensional cells (current value x potential x needs) with a strategy per
(value, potential) cell, and micro-segments (segment x tier x lifecycle x preferred channel)
with a minimum size. Pure and vectorised.

- value: the value tier (platinum ... value_destroyer).
- potential: ``high``, ``medium`` or ``low`` by the potential measure (``headroom``, money
  a year we do not yet get; or ``share_of_wallet``, low share = high potential) among the
  customers a cintel-potential champion scored: the top ``high_share`` of them are high,
  the next ``medium_share`` medium (ties at a cut go to the higher level; no headroom at
  all is low); ``unknown`` without a potential.
- needs: the behavioural segment id.
- cell id ``<tier>/<potential>/<segment id>``, e.g. ``gold/high/weekend_wine``; the
  strategy (retain, develop, maintain, reduce_cost_to_serve) is the (tier, potential)
  cell's in ``cells.yaml``.

A micro-segment is ``<segment id>/<tier>/<lifecycle stage>/<preferred channel>`` (stage and
channel as slugs; channel: the most used one, ``none`` without a transaction). One with
fewer than ``min_size`` customers merges upward, dropping the last dimension: its
customers join ``<segment>/<tier>/<stage>/*`` (those of the small cells only); if that
bucket is still too small, ``<segment>/<tier>/*/*``, then ``<segment>/*/*/*``, then
``*/*/*/*`` (which may stay smaller than ``min_size``). It depends only on the counts, so it
is deterministic and does not depend on row order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from training.economics.cells_config import LEVELS, UNKNOWN, CellsConfig

ANY = "*"
NO_CHANNEL = "none"
CHANNEL_PREFIX = "chan_share__"
CELL_COLUMNS = ("potential_level", "cell", "cell_strategy", "micro_segment")


def potential_score(headroom: np.ndarray, share: np.ndarray, measure: str) -> np.ndarray:
    """What the potential levels are cut on (higher: more potential); NaN without one."""
    if measure == "share_of_wallet":
        return 1.0 - np.asarray(share, dtype="float64")
    return np.asarray(headroom, dtype="float64")


def potential_cuts(score: np.ndarray, config: CellsConfig) -> tuple[float, float]:
    """The smallest scores of the high and medium levels (inf when a level gets nobody)."""
    known = np.sort(score[np.isfinite(score)])[::-1]
    counts = np.floor(np.cumsum([config.high_share, config.medium_share]) * len(known) + 0.5)
    high, medium = (float(known[int(c) - 1]) if c > 0 else float("inf") for c in counts)
    return high, medium


def potential_levels(score: np.ndarray, cuts: Sequence[float], measure: str) -> np.ndarray:
    """Level per customer; headroom <= 0 (or a full share of wallet) is always low."""
    high, medium = cuts
    some = score > 0
    level = np.select(
        [~np.isfinite(score), some & (score >= high), some & (score >= medium)],
        [UNKNOWN, LEVELS[0], LEVELS[1]],
        default=LEVELS[2],
    )
    return level.astype(object)


def _text(values: np.ndarray) -> np.ndarray:
    """Labels as str, ``unknown`` where missing."""
    out = pd.Series(values, dtype=object).where(pd.notna(pd.Series(values, dtype=object)), UNKNOWN)
    return out.astype(str).to_numpy(dtype=object)


def cells(
    tier: np.ndarray, segment: np.ndarray, level: np.ndarray, config: CellsConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(cell id, strategy) per customer."""
    tier, segment, level = _text(tier), _text(segment), _text(level)
    cell = np.char.add(np.char.add(np.char.add(tier.astype(str), "/"), level.astype(str)), "/")
    cell = np.char.add(cell, segment.astype(str)).astype(object)
    pairs = pd.MultiIndex.from_arrays([tier, level])
    lut = {(t, v): config.strategy(t, v) for t, v in pairs.unique()}
    codes, uniques = pd.factorize(pairs)
    strategy = np.array([lut[u] for u in uniques], dtype=object)[codes]
    return cell, strategy


def preferred_channel(features: pd.DataFrame) -> np.ndarray:
    """The channel of most of the customer's transactions (the ``chan_share__`` features;
    ties: the first channel in name order), ``none`` without a transaction."""
    cols = sorted(c for c in features.columns if c.startswith(CHANNEL_PREFIX))
    if not cols:
        return np.full(len(features), NO_CHANNEL, dtype=object)
    shares = np.nan_to_num(features[cols].to_numpy(dtype="float64"), nan=0.0)
    names = np.array([c[len(CHANNEL_PREFIX) :] for c in cols], dtype=object)
    best = names[np.argmax(shares, axis=1)]
    return np.where(shares.max(axis=1) > 0, best, NO_CHANNEL).astype(object)


def stage_slug(stage: np.ndarray) -> np.ndarray:
    """Lifecycle stages as id parts: ``at risk`` -> ``at_risk``."""
    return np.char.replace(_text(stage).astype(str), " ", "_").astype(object)


def micro_segments(dims: Sequence[np.ndarray], min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(micro-segment id, its customers) per row from the label arrays ``dims``, coarsest
    first, merging upward as the module docstring says."""
    n = len(dims[0]) if dims else 0
    labels, codes = [], []
    for d in dims:
        c, u = pd.factorize(_text(np.asarray(d, dtype=object)), sort=True)
        codes.append(c.astype(np.int64))
        labels.append(np.asarray(u, dtype=object))
    m = np.stack(codes, axis=1) if n else np.zeros((0, len(dims)), np.int64)
    radix = [len(u) + 1 for u in labels]  # code -1 (merged) shifted to 0
    open_ = np.ones(n, dtype=bool)
    for depth in range(len(dims), 0, -1):
        rows = np.flatnonzero(open_)
        if not len(rows):
            break
        key = np.zeros(len(rows), np.int64)
        for j in range(depth):
            key = key * radix[j] + m[rows, j] + 1
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        small = counts[inverse.reshape(-1)] < min_size
        m[rows[small], depth - 1] = -1
        open_[rows[~small]] = False
    full = np.zeros(n, np.int64)
    for j in range(len(dims)):
        full = full * radix[j] + m[:, j] + 1
    uniq, inverse, counts = np.unique(full, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    first = np.zeros(len(uniq), np.int64)
    first[inverse[::-1]] = np.arange(n)[::-1]
    names = np.array(
        [
            "/".join(ANY if m[i, j] < 0 else str(labels[j][m[i, j]]) for j in range(len(dims)))
            for i in first
        ],
        dtype=object,
    )
    return names[inverse], counts[inverse]


def fine_keys(dims: Sequence[np.ndarray]) -> np.ndarray:
    """The unmerged micro-segment of each row (``a/b/c/d``)."""
    parts = [_text(np.asarray(d, dtype=object)).astype(str) for d in dims]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(np.char.add(out, "/"), p)
    return out.astype(object)


def merged_of(fine: str, known: Mapping[str, str], published: frozenset[str]) -> str:
    """The micro-segment a customer with the unmerged cell ``fine`` joins, given a publish's
    mapping (``known``: fine cell -> micro-segment) and its micro-segments: a fine cell the
    publish did not have was too small, so it takes the first published bucket up."""
    if fine in known:
        return known[fine]
    parts = fine.split("/")
    for depth in range(len(parts) - 1, -1, -1):
        bucket = "/".join(parts[:depth] + [ANY] * (len(parts) - depth))
        if bucket in published:
            return bucket
    return "/".join([ANY] * len(parts))
