"""Vectorised building blocks of the synthetic data: sampling, weekly clock, BG/NBD events.

Purchases follow a Poisson process in *operational time*: a clock that runs fast in busy
hours of the week and stands still when shops are closed, so one homogeneous process per
customer gives archetype-specific weekday/weekend and time-of-day patterns while keeping
the likelihood of "no purchase in a window" exactly ``exp(-rate * operational length)``.
"""

from __future__ import annotations

import numpy as np

from training.synth_archetypes import HOURS_PER_WEEK


def segment_offsets(counts: np.ndarray) -> np.ndarray:
    """Start of each segment in the concatenation, plus the total at the end."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def sample_categories(probs: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of a category per element, from row ``row[i]`` of ``probs``.

    One ``searchsorted`` over all rows: row ``r``'s CDF is shifted by ``2 r`` so the
    flattened table stays sorted. ``u`` holds uniforms in [0, 1).
    """
    n_rows, k = probs.shape
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    flat = (cdf + 2.0 * np.arange(n_rows)[:, None]).ravel()
    shift = 2.0 * row
    idx = np.searchsorted(flat, u + shift, side="right") - row.astype(np.int64) * k
    return np.minimum(idx, k - 1).astype(np.int8)


class WeeklyClock:
    """Map between real hours (since a Monday 00:00) and operational hours, per archetype."""

    def __init__(self, profile: np.ndarray) -> None:
        self.profile = profile
        self.n_rows = profile.shape[0]
        self.cum = np.zeros((self.n_rows, HOURS_PER_WEEK + 1))
        np.cumsum(profile, axis=1, out=self.cum[:, 1:])
        self.cum[:, -1] = HOURS_PER_WEEK
        self._flat = (self.cum + 1000.0 * np.arange(self.n_rows)[:, None]).ravel()

    def to_operational(self, hours: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Operational time reached at real time ``hours`` for archetype ``row``."""
        week = np.floor(hours / HOURS_PER_WEEK)
        within = hours - week * HOURS_PER_WEEK
        h = np.minimum(within.astype(np.int64), HOURS_PER_WEEK - 1)
        frac = within - h
        return week * HOURS_PER_WEEK + self.cum[row, h] + frac * self.profile[row, h]

    def to_real(self, tau: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Real time at which archetype ``row``'s operational clock reaches ``tau``."""
        week = np.floor(tau / HOURS_PER_WEEK)
        rest = np.minimum(tau - week * HOURS_PER_WEEK, HOURS_PER_WEEK - 1e-9)
        base = row.astype(np.int64) * (HOURS_PER_WEEK + 1)
        idx = np.searchsorted(self._flat, rest + 1000.0 * row, side="right") - 1
        h = np.clip(idx - base, 0, HOURS_PER_WEEK - 1)
        frac = (rest - self.cum[row, h]) / self.profile[row, h]
        return week * HOURS_PER_WEEK + h + np.clip(frac, 0.0, 1.0)


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
