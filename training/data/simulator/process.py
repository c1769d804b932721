"""Vectorised building blocks of the synthetic data: sampling, weekly clock, BG/NBD events.

Purchases follow a Poisson process in *operational time*: a clock that runs fast in busy
hours of the week and stands still when shops are closed, so one homogeneous process per
customer gives archetype-specific weekday/weekend and time-of-day patterns while keeping
the likelihood of "no purchase in a window" exactly ``exp(-rate * operational length)``.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from training.data.simulator.archetypes import HOURS_PER_WEEK


def segment_offsets(counts: np.ndarray) -> np.ndarray:
    """Start of each segment in the concatenation, plus the total at the end."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


class StepLookup:
    """Which step of a row's increasing edges holds each value: a grid, then a few checks.

    ``edges`` has one row per table, strictly increasing from 0 to the same total. A value
    is mapped to its grid cell, which knows the step at its start; since the grid is fine,
    at most ``checks`` more steps begin inside a cell. Costs a few gathers per value where
    ``np.searchsorted`` on random queries costs ~200 ns.
    """

    def __init__(self, edges: np.ndarray, cells_per_unit: float) -> None:
        self.n_steps = edges.shape[1] - 1
        self.total = float(edges[0, -1])
        self.cells = max(int(np.ceil(self.total * cells_per_unit)), 1)
        grid = np.arange(self.cells + 1) * (self.total / self.cells)
        start = np.stack([np.searchsorted(e, grid, side="right") - 1 for e in edges])
        start = np.minimum(start, self.n_steps - 1)
        self.checks = int(np.diff(start, axis=1).max())
        self._start: np.ndarray = start[:, :-1].ravel().astype(np.int32)
        self._edges = edges.ravel()

    def find(self, x: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Step index ``k`` with ``edges[row, k] <= x < edges[row, k + 1]``."""
        cell = (x * (self.cells / self.total)).astype(np.int64)
        np.minimum(cell, self.cells - 1, out=cell)
        cell += row * self.cells
        k = self._start[cell]
        if self.checks:
            base = row * (self.n_steps + 1)
            base += 1
            for _ in range(self.checks):
                k += x >= self._edges[base + k]
        return k


def _cumulative(weights: np.ndarray) -> np.ndarray:
    edges = np.zeros((weights.shape[0], weights.shape[1] + 1))
    np.cumsum(weights, axis=1, out=edges[:, 1:])
    return edges


def sample_categories(probs: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of a category per element from row ``row[i]`` of ``probs``.

    ``u`` holds uniforms in [0, 1); every probability must be positive.
    """
    edges = _cumulative(probs / probs.sum(axis=1, keepdims=True))
    edges[:, -1] = 1.0
    lookup = StepLookup(edges, cells_per_unit=4096)
    return lookup.find(u, row.astype(np.int64)).astype(np.int8)


class WeeklyClock:
    """Map between real hours (since a Monday 00:00) and operational hours, per archetype."""

    def __init__(self, profile: np.ndarray) -> None:
        self.profile = profile
        self.cum = _cumulative(profile)
        self.cum[:, -1] = HOURS_PER_WEEK
        open_hours = profile > 0
        if not (open_hours == open_hours[0]).all():
            raise ValueError("every archetype's weekly profile must have the same open hours")
        self._open = np.flatnonzero(open_hours[0])
        edges = _cumulative(profile[:, self._open])
        edges[:, -1] = HOURS_PER_WEEK
        self._lookup = StepLookup(edges, cells_per_unit=64)
        self._profile_flat = profile.ravel()
        self._edges_flat = edges.ravel()

    def to_operational(self, hours: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Operational time reached at real time ``hours`` for archetype ``row``."""
        week = np.floor(hours / HOURS_PER_WEEK)
        within = hours - week * HOURS_PER_WEEK
        h = np.minimum(within.astype(np.int64), HOURS_PER_WEEK - 1)
        frac = within - h
        return cast(
            np.ndarray, week * HOURS_PER_WEEK + self.cum[row, h] + frac * self.profile[row, h]
        )

    def to_real(self, tau: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Real time at which archetype ``row``'s operational clock reaches ``tau``."""
        row = row.astype(np.int64)
        week = np.floor(tau / HOURS_PER_WEEK)
        rest = tau - week * HOURS_PER_WEEK
        k = self._lookup.find(rest, row)
        h = self._open[k]
        start = self._edges_flat[row * (len(self._open) + 1) + k]
        frac = np.minimum((rest - start) / self._profile_flat[row * HOURS_PER_WEEK + h], 1.0)
        return cast(np.ndarray, (week * HOURS_PER_WEEK + h) + frac)


def segment_cumsum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every segment boundary."""
    total = np.cumsum(values)
    counts = np.diff(offsets)
    before = np.zeros(len(counts))
    starts = offsets[:-1]
    has_prev = starts > 0
    before[has_prev] = total[starts[has_prev] - 1]
    return total - np.repeat(before, counts)


def simulate_purchases(
    rng: np.random.Generator,
    rate: np.ndarray,
    dropout: np.ndarray,
    begin: np.ndarray,
    end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD purchases in operational time: first purchase at ``begin``, Poisson(``rate``)
    afterwards, death right after each purchase with probability ``dropout``, until ``end``.

    Returns the number of purchases per customer, whether the customer died by ``end``,
    and all purchase times concatenated customer by customer in increasing order.
    The times are the first order statistics of the candidate Poisson events, drawn from
    exponential spacings, so nothing is simulated past a customer's death.
    """
    candidates = 1 + rng.poisson(rate * (end - begin))
    lifetime = rng.geometric(dropout)
    count = np.minimum(candidates, lifetime)
    died = lifetime <= candidates
    extra = count - 1
    spacing = rng.standard_exponential(int(extra.sum()))
    extra_offsets = segment_offsets(extra)
    partial = segment_cumsum(spacing, extra_offsets)
    last = np.zeros(len(count))
    has_extra = extra > 0
    last[has_extra] = partial[extra_offsets[1:][has_extra] - 1]
    denominator = last + rng.gamma(candidates - extra)
    scale = np.repeat((end - begin) / denominator, extra)
    extra_times = np.repeat(begin, extra) + partial * scale
    offsets = segment_offsets(count)
    times = np.empty(int(offsets[-1]))
    is_first = np.zeros(len(times), dtype=bool)
    is_first[offsets[:-1]] = True
    times[is_first] = begin
    times[~is_first] = extra_times
    return count, died, times
