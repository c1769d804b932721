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
channel as slugs; the stage by the recency rules, as stored, not moved to "at risk" by a
churn score, so a new churn champion moves no customer's micro-segment; channel: the most
used one, ``none`` without a transaction). One with
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


Factor = tuple[np.ndarray, np.ndarray]  # (int64 code per row, label per code)


def factor(values: np.ndarray) -> Factor:
    """Codes and text labels of ``values`` (missing: ``unknown``); string work is done on
    the distinct labels only, so a million rows cost a hash, not a million strings."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), sort=True)
    labels = [str(u) for u in uniques]
    missing = labels.index(UNKNOWN) if UNKNOWN in labels else len(labels)
    if missing == len(labels):
        labels.append(UNKNOWN)
    return np.where(codes < 0, missing, codes).astype(np.int64), np.array(labels, dtype=object)


def _joined(parts: Sequence[Factor]) -> tuple[np.ndarray, np.ndarray]:
    """("a/b/c" per distinct combination, the combination of each row)."""
    n = len(parts[0][0]) if parts else 0
    key = np.zeros(n, np.int64)
    for codes, labels in parts:
        key = key * len(labels) + codes
    uniq, inverse = np.unique(key, return_inverse=True)
    names = []
    for k in uniq.tolist():
        out = []
        for _codes, labels in reversed(parts):
            k, c = divmod(k, len(labels))
            out.append(str(labels[c]))
        names.append("/".join(reversed(out)))
    return np.array(names, dtype=object), inverse.reshape(-1)


def cells(
    tier: np.ndarray, segment: np.ndarray, level: np.ndarray, config: CellsConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(cell id, strategy) per customer."""
    names, inverse = _joined([factor(tier), factor(level), factor(segment)])
    strategy = [config.strategy(*str(name).split("/")[:2]) for name in names]
    return names[inverse], np.array(strategy, dtype=object)[inverse]


def preferred_channel(
    features: pd.DataFrame | Mapping[str, np.ndarray], n: int | None = None
) -> np.ndarray:
    """The channel of most of the customer's transactions (the ``chan_share__`` features,
    of a frame or of name -> array of ``n`` rows; ties: the first channel in name order),
    ``none`` without a transaction."""
    cols = sorted(str(c) for c in features if str(c).startswith(CHANNEL_PREFIX))
    if not cols:
        rows = len(features) if isinstance(features, pd.DataFrame) else (n or 0)
        return np.full(rows, NO_CHANNEL, dtype=object)
    if isinstance(features, pd.DataFrame):
        shares = features[cols].to_numpy(dtype="float64")
    else:
        shares = np.column_stack([np.asarray(features[c], dtype="float64") for c in cols])
    shares = np.nan_to_num(shares, nan=0.0)
    names = np.array([c[len(CHANNEL_PREFIX) :] for c in cols] + [NO_CHANNEL], dtype=object)
    best = np.where(shares.max(axis=1) > 0, np.argmax(shares, axis=1), len(cols))
    return names[best]


def stage_slug(stage: np.ndarray) -> np.ndarray:
    """Lifecycle stages as id parts: ``at risk`` -> ``at_risk``."""
    codes, labels = factor(stage)
    return np.array([str(x).replace(" ", "_") for x in labels], dtype=object)[codes]


def micro_table(
    dims: Sequence[np.ndarray], min_size: int
) -> tuple[np.ndarray, np.ndarray, dict[str, str], dict[str, int]]:
    """Micro-segments of the rows of the label arrays ``dims`` (coarsest first), merging
    upward as the module docstring says: (id per row, its customers per row, unmerged cell
    -> micro-segment, micro-segment -> customers)."""
    parts = [factor(d) for d in dims]
    n = len(parts[0][0]) if parts else 0
    m = np.stack([c for c, _ in parts], axis=1) if n else np.zeros((0, len(dims)), np.int64)
    radix = [len(labels) + 1 for _, labels in parts]  # code -1 (merged) shifted to 0
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
    merged = [
        (m[:, j] + 1, np.array([ANY, *labels], dtype=object)) for j, (_, labels) in enumerate(parts)
    ]
    names, inverse = _joined(merged)
    counts = np.bincount(inverse, minlength=len(names))
    fine_names, fine_inverse = _joined(parts)
    first = np.zeros(len(fine_names), np.int64)
    first[fine_inverse[::-1]] = np.arange(n)[::-1]
    fine_map = {str(f): str(names[inverse[i]]) for f, i in zip(fine_names, first, strict=True)}
    sizes = {str(k): int(v) for k, v in zip(names, counts, strict=True)}
    return names[inverse], counts[inverse], fine_map, sizes


def micro_segments(dims: Sequence[np.ndarray], min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(micro-segment id, its customers) per row (``micro_table``)."""
    ids, sizes, _, _ = micro_table(dims, min_size)
    return ids, sizes


def fine_keys(dims: Sequence[np.ndarray]) -> np.ndarray:
    """The unmerged micro-segment of each row (``a/b/c/d``)."""
    names, inverse = _joined([factor(d) for d in dims])
    keys: np.ndarray = names[inverse]
    return keys


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
