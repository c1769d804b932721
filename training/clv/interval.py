"""The CLV interval: posterior-predictive draws per history, keyed so batching cannot change them.

Every random number is a hash of (seed, history, draw number, purpose) (``keyed``), so a
history's draws, and so its p10/p90, are the same whether it is scored alone, in any batch
and in any order, on pandas or on Spark.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from training.clv import keyed
from training.clv.bgnbd import BetaGeo
from training.clv.gamma_gamma import GammaGamma
from training.clv.memo import Memo

SEGMENT = 32  # columns of the purchase-count table computed at a time
MAX_COLUMNS = 1 << 16  # a table never grows past this (its last entry is then set to 0)
CHUNK_DRAWS = 1 << 16  # draws per block of histories (fastest here between 2^13 and 2^18)
_TICKS = 2.0**32  # probabilities are compared with 32-bit uniforms in whole ticks


def purchase_ticks(
    purchases: BetaGeo, x: np.ndarray, T: np.ndarray, alive: np.ndarray, horizon: float
) -> np.ndarray:
    """(histories, columns): round(2³²·P(N > n)) for n = 0, 1, …, N the purchases in the horizon.

    Given alive, N = min(B, K) with B ~ NegBin(r+x, q = (α+T)/(α+T+horizon)) (Poisson
    purchases at a Gamma rate) and K ~ Geometric(p), p ~ Beta(a, b+x) (purchases left before
    dropping out), independent: P(N > n) = P(alive) · P(B > n) · P(K > n) with
    P(K > n) = Π_{i<n} (b+x+i)/(a+b+x+i). The pmf of B is built in logs (heavy buyers do not
    underflow) in segments of ``SEGMENT`` columns, each continuing from the last, until a
    row's last entry rounds to 0; a row's entries do not depend on the other rows.
    """
    k = len(x)
    s = purchases.r_ + x
    log_rest = np.log(purchases.alpha_ + T + horizon)
    log_1mq = np.log(horizon) - log_rest
    b_x = purchases.b_ + x
    carry = np.stack([s * (np.log(purchases.alpha_ + T) - log_rest), np.zeros(k), np.zeros(k)])
    mean = s * horizon / (purchases.alpha_ + T)
    rows = np.arange(k)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, MAX_COLUMNS, SEGMENT):
        n = np.maximum(np.arange(start, start + SEGMENT, dtype=np.float64), 1.0)
        sr, br = s[rows, None], b_x[rows, None]
        # log P(B = n) − log P(B = n−1) and log P(K > n) − log P(K > n−1)
        step_b = np.log((sr + n - 1.0) / n) + log_1mq[rows, None]
        step_k = np.log((br + n - 1.0) / (purchases.a_ + br + n - 1.0))
        if start == 0:
            step_b[:, 0] = step_k[:, 0] = 0.0
        log_pmf = carry[0, rows, None] + np.cumsum(step_b, axis=1)
        cdf = carry[1, rows, None] + np.cumsum(np.exp(log_pmf), axis=1)
        log_k = carry[2, rows, None] + np.cumsum(step_k, axis=1)
        ticks = np.rint(
            alive[rows, None] * np.maximum(1.0 - cdf, 0.0) * np.exp(log_k) * _TICKS
        ).astype(np.int64)
        carry[:, rows] = log_pmf[:, -1], cdf[:, -1], log_k[:, -1]
        # past the mode with a negligible pmf, what is left of 1 − cdf is rounding error
        done = (ticks[:, -1] == 0) | ((log_pmf[:, -1] < -40.0) & (start > mean[rows]))
        if start + SEGMENT >= MAX_COLUMNS:
            done[:] = True
        ticks[done, -1] = 0
        parts.append((rows, ticks))
        rows = rows[~done]
        if not rows.size:
            break
    table = np.zeros((k, SEGMENT * len(parts)), dtype=np.int64)
    for i, (part_rows, ticks) in enumerate(parts):
        table[part_rows, i * SEGMENT : (i + 1) * SEGMENT] = ticks
    return table


def invert_ticks(ticks: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(histories, draws): N = #{n : u ≥ 2³² − ticks[n]} for 32-bit uniform integers u.

    P(N > n) = ticks[n] / 2³² exactly. A guide table (Chen and Asau) gives each u a start
    no further than N, from where a few steps reach it: exact integer arithmetic, so a draw
    depends only on its row of ``ticks`` and its u.
    """
    k, size = ticks.shape
    cdf = ((1 << 32) - ticks).ravel()  # non-decreasing along each row, 2³² at its end
    bits = max(1, int(size - 1).bit_length())
    shift = 32 - bits
    buckets = 1 << bits
    # start[row, g] = #{n : cdf[n] ≤ g·2^shift} = #{n : ceil(cdf[n] / 2^shift) ≤ g}
    row = np.repeat(np.arange(k, dtype=np.int64) * (buckets + 1), size)
    upper = (cdf + ((1 << shift) - 1)) >> shift
    counts = np.bincount(row + upper, minlength=k * (buckets + 1)).reshape(k, buckets + 1)
    start = np.cumsum(counts[:, :buckets], axis=1).ravel()
    uflat = u.ravel()
    offsets = np.repeat(np.arange(k, dtype=np.int64), u.shape[1])
    pos = start[offsets * buckets + (uflat >> shift)] + offsets * size
    step = np.flatnonzero(cdf[pos] <= uflat)
    while step.size:
        pos[step] += 1
        step = step[cdf[pos[step]] <= uflat[step]]
    return cast(np.ndarray, (pos - offsets * size).reshape(u.shape))


def history_draws(
    purchases: BetaGeo,
    spend: GammaGamma,
    x: np.ndarray,
    T: np.ndarray,
    alive: np.ndarray,
    discount: np.ndarray,
    horizon: float,
    n_draws: int,
    keys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(histories, n_draws) posterior-predictive draws of discounted value over ``horizon``.

    Under BG/NBD and Gamma-Gamma at the fitted parameters: the customer is alive with
    probability P(alive); if alive, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); purchases in
    the horizon are N = min(Poisson(λ·horizon), K) with K ~ Geometric(p) the purchases left
    before dropping out, drawn from its exact distribution (``purchase_ticks``). Spend per
    purchase is Gamma(p, ν) with ν ~ Gamma(px+q, γ+x·m) (the prior Gamma(q, γ) without
    repeats), so total spend is (γ+x·m) · G_N / G_ν with G_N ~ Gamma(p·N, 1) and
    G_ν ~ Gamma(px+q, 1): the customer's own mean m only scales the draw. Discounting
    multiplies by the history's expected discount factor per purchase (``discount``), so the
    draws' mean equals the analytical discounted CLV; only the spread of purchase timing
    within the horizon is ignored. Returned are R = discount·G_N/G_ν (value per unit of
    γ+x·m) and D = discount·N (for fixed-spend customers), both functions of the history
    (x, t_x, T) and of its ``keys`` alone. Parameter uncertainty is not included.
    """
    draw = keyed.draw_keys(keys, n_draws)
    u = (draw >> np.uint64(32)).astype(np.int64)
    n = invert_ticks(purchase_ticks(purchases, x, T, alive, horizon), u)
    r_draws = np.zeros(n.shape)
    slot = np.flatnonzero(n)
    row = slot // n_draws
    nu_shape = np.where(x > 0, spend.p_ * x + spend.q_, spend.q_)[row]  # per history
    g_n, g_nu = keyed.gamma_pair(draw.ravel()[slot], spend.p_ * n.ravel()[slot], nu_shape)
    r_draws.ravel()[slot] = discount[row] * g_n / g_nu
    return r_draws, discount[:, None] * n


def quantiles(draws: np.ndarray, levels: tuple[float, ...] = (0.1, 0.9)) -> np.ndarray:
    """(rows, len(levels)): each row's quantiles, linear between order statistics as numpy's
    default method, from one partial sort.

    A level needs the order statistics lo and lo + 1; the partial sort places one of them
    (the one nearer the middle) and the other is the largest element before it (or the
    smallest after it): the same two values as placing both, with half the selections."""
    n = draws.shape[1]
    pos = np.asarray(levels) * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    placed = np.where(lo < n // 2, hi, lo)
    part = np.partition(draws, np.unique(placed), axis=1)
    out = np.empty((len(draws), len(levels)))
    for j, (a, b, k) in enumerate(zip(lo.tolist(), hi.tolist(), placed.tolist(), strict=True)):
        at = part[:, k]
        if a == b:
            low = high = at
        elif k == b:  # lo: the largest of the elements before position hi
            low, high = part[:, :b].max(axis=1), at
        else:  # hi: the smallest of the elements after position lo
            low, high = at, part[:, b:].min(axis=1)
        out[:, j] = low + (pos[j] - a) * (high - low)
    return out


def interval(
    purchases: BetaGeo,
    spend: GammaGamma,
    hist: tuple[np.ndarray, np.ndarray, np.ndarray],
    alive: np.ndarray,
    discount: np.ndarray,
    horizon: float,
    n_draws: int,
    seed: int,
    fixed: np.ndarray,
    chunk_size: int | None = None,
    memo: Memo | None = None,
) -> np.ndarray:
    """(histories, 4): p10 and p90 of R, then of D for the ``fixed`` histories (else 0).

    Histories are keyed by (seed, x, t_x, T) (``keyed.history_keys``): their quantiles do
    not depend on which other histories are scored with them, in what order, or on
    ``chunk_size`` (histories per block; by default about ``CHUNK_DRAWS`` draws). Blocks
    hold histories with similar expected purchases, so their tables have similar lengths.
    So ``memo`` (a batch's shared ``Memo``) may hand back the quantiles of a history drawn
    for an earlier chunk: the same numbers, drawn once.
    """
    keys = keyed.history_keys(seed, *hist)
    if memo is None:
        return _interval(
            purchases, spend, hist, alive, discount, horizon, n_draws, fixed, chunk_size, keys
        )
    context = (repr(purchases.params_), repr(spend.params_), float(horizon), n_draws, seed)
    table = np.column_stack([*hist, fixed]).astype(np.float64) + 0.0  # -0.0 is 0.0
    lookup = keys ^ fixed.astype(np.uint64)  # fixed or not: another entry
    found, known = memo.lookup(context, lookup, table)
    out = np.zeros((len(keys), 4))
    out[found] = known
    todo = np.flatnonzero(~found)
    if len(todo):
        part = (hist[0][todo], hist[1][todo], hist[2][todo])
        fresh = _interval(
            purchases, spend, part, alive[todo], discount[todo], horizon, n_draws, fixed[todo],
            chunk_size, keys[todo],
        )  # fmt: skip
        out[todo] = fresh
        memo.add(context, lookup[todo], table[todo], fresh)
    return out


def _interval(
    purchases: BetaGeo,
    spend: GammaGamma,
    hist: tuple[np.ndarray, np.ndarray, np.ndarray],
    alive: np.ndarray,
    discount: np.ndarray,
    horizon: float,
    n_draws: int,
    fixed: np.ndarray,
    chunk_size: int | None,
    keys: np.ndarray,
) -> np.ndarray:
    """``interval`` without a memo; ``keys``: the histories' ``keyed.history_keys``."""
    x, _, T = hist
    expected = (purchases.r_ + x) / (purchases.alpha_ + T)
    order = np.argsort(expected, kind="stable")
    size = chunk_size or max(1, CHUNK_DRAWS // n_draws)
    q = np.zeros((len(x), 4))
    for start in range(0, len(x), size):
        rows = order[start : start + size]
        r_draws, d_draws = history_draws(
            purchases, spend, x[rows], T[rows], alive[rows], discount[rows], horizon, n_draws,
            keys[rows],
        )  # fmt: skip
        q[rows, :2] = quantiles(r_draws)
        need = fixed[rows]
        if need.any():
            q[rows[need], 2:] = quantiles(d_draws[need])
    return q
