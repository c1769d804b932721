"""The CLV interval's draws: exact purchase-count law, analytic quantiles, stated coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from training.clv import BetaGeo, GammaGamma, clv_outputs
from training.clv.interval import interval, invert_ticks, purchase_ticks, quantiles
from training.clv.keyed import draw_keys, history_keys
from training.clv.memo import Memo

HORIZON = 365.25
# BG/NBD in days and Gamma-Gamma, close to a fit on cintel's simulated snapshot
TRUE_BG = {"r": 1.5, "alpha": 26.0, "a": 1.1, "b": 36.7}
TRUE_GG = {"p": 0.83, "q": 3.1, "v": 93.0}
# (x, t_x, T): new, light, lapsed, loyal and very heavy customers
HISTORIES = np.array(
    [[0, 0, 30], [2, 40, 90], [8, 100, 319], [40, 318, 320], [10_000, 4_999, 5_000]], dtype=float
)


def models() -> tuple[BetaGeo, GammaGamma]:
    bg, gg = BetaGeo(), GammaGamma()
    bg.r_, bg.alpha_, bg.a_, bg.b_ = TRUE_BG.values()
    gg.p_, gg.q_, gg.v_ = TRUE_GG.values()
    return bg, gg


def exact_survival(bg: BetaGeo, x: float, t_x: float, T: float, n: np.ndarray) -> np.ndarray:
    """P(N > n) from scipy: NegBin survival × Beta-geometric survival × P(alive)."""
    alive = bg.conditional_probability_alive([x], [t_x], [T])[0]
    q = (bg.alpha_ + T) / (bg.alpha_ + T + HORIZON)
    tail_b = stats.nbinom.sf(n, bg.r_ + x, q)
    tail_k = np.exp(special.betaln(bg.a_, bg.b_ + x + n) - special.betaln(bg.a_, bg.b_ + x))
    return alive * tail_b * tail_k


def test_purchase_table_is_the_exact_law_of_purchases() -> None:
    bg, _ = models()
    x, t_x, T = HISTORIES.T
    ticks = purchase_ticks(bg, x, T, bg.conditional_probability_alive(x, t_x, T), HORIZON)
    assert ticks.shape[1] % 32 == 0 and (ticks[:, -1] == 0).all()
    assert (np.diff(ticks, axis=1) <= 0).all()
    n = np.arange(ticks.shape[1])
    for row, (xi, ti, Ti) in zip(ticks, HISTORIES, strict=True):
        want = exact_survival(bg, xi, ti, Ti, n) * 2.0**32
        np.testing.assert_allclose(row, want, rtol=1e-9, atol=1.0)
    # the very heavy buyer's table reaches about 730 purchases; the others stay short
    assert (ticks[-1] > 0).sum() > 700 and (ticks[0] > 0).sum() < 200


def test_inverting_a_hand_made_table() -> None:
    # P(N > 0) = 3/4, P(N > 1) = 1/4, P(N > 2) = 0
    ticks = np.array([[3 << 30, 1 << 30, 0, 0], [0, 0, 0, 0]], dtype=np.int64)
    u = np.array([[0, (1 << 30) - 1, 1 << 30, (3 << 30) - 1, 3 << 30, (1 << 32) - 1]] * 2)
    assert invert_ticks(ticks, u).tolist() == [[0, 0, 1, 1, 2, 2], [0] * 6]


def test_inversion_agrees_with_counting_on_random_tables() -> None:
    rng = np.random.default_rng(3)
    for size in (32, 96, 512):
        steps = rng.exponential(size=(40, size)) * (rng.random((40, size)) < 0.7)
        cum = np.cumsum(steps, axis=1)
        alive = rng.uniform(0.0, 1.0, (40, 1))
        ticks = np.rint(alive * (1.0 - cum / cum[:, -1:]) * 2.0**32).astype(np.int64)
        u = rng.integers(0, 1 << 32, (40, 300))
        want = ((1 << 32) - ticks[:, None, :] <= u[:, :, None]).sum(axis=2)
        assert np.array_equal(invert_ticks(ticks, u), want)


def test_purchase_draws_follow_the_table() -> None:
    bg, _ = models()
    x, t_x, T = HISTORIES[:4].T
    ticks = purchase_ticks(bg, x, T, bg.conditional_probability_alive(x, t_x, T), HORIZON)
    n_draws = 100_000
    u = (draw_keys(history_keys(0, x, t_x, T), n_draws) >> np.uint64(32)).astype(np.int64)
    counts = invert_ticks(ticks, u)
    seen = (counts[:, :, None] > np.arange(ticks.shape[1])).mean(axis=1)
    # Kolmogorov-Smirnov at the 1 % level (conservative for a discrete law)
    assert np.abs(seen - ticks / 2.0**32).max() < 1.63 / np.sqrt(n_draws)


def value_cdf(bg: BetaGeo, gg: GammaGamma, hist: np.ndarray, discount: float, r: float) -> float:
    """P(R ≤ r) for R = discount·G_N/G_ν: Σ_n P(N = n) · I_{r/(discount+r)}(p·n, ν)."""
    x, t_x, T = hist
    n = np.arange(4_000)
    tail = exact_survival(bg, x, t_x, T, n)
    pmf = np.concatenate([[1.0 - tail[0]], -np.diff(tail)])
    nu = gg.p_ * x + gg.q_ if x > 0 else gg.q_
    z = r / (discount + r)
    return float(pmf[0] + pmf[1:] @ special.betainc(gg.p_ * n[1:], nu, z))


def test_quantiles_converge_to_the_analytic_quantiles() -> None:
    bg, gg = models()
    hist = HISTORIES[[0, 3]]
    x, t_x, T = hist.T
    alive = bg.conditional_probability_alive(x, t_x, T)
    discount = np.array([0.95, 0.9])
    none = np.zeros(2, dtype=bool)
    q = interval(bg, gg, (x, t_x, T), alive, discount, HORIZON, 40_000, 0, none)
    for i in range(2):
        assert value_cdf(bg, gg, hist[i], discount[i], 0.0) < 0.1  # no atom at p10
        for j, level in enumerate((0.1, 0.9)):
            # 40,000 draws: the quantile's level is within 0.0015 (1 se) of the target
            assert value_cdf(bg, gg, hist[i], discount[i], q[i, j]) == pytest.approx(
                level, abs=0.006
            )


def test_quantiles_match_numpy() -> None:
    draws = np.random.default_rng(0).gamma(0.5, size=(30, 200))
    draws[:5] = 0.0
    want = np.quantile(draws, [0.1, 0.9], axis=1).T
    np.testing.assert_allclose(quantiles(draws), want, rtol=1e-12, atol=0)


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """BG/NBD × Gamma-Gamma customers at TRUE_*: their summary at T and their spend in the
    next HORIZON days (each draws its own λ, p and ν; drop-out after each repeat purchase)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(30, 366, n).astype(float)
    lam = rng.gamma(TRUE_BG["r"], 1.0 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["v"], n)
    x, t_x, spent, future = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive, now, end = np.ones(n, dtype=bool), np.zeros(n), T
    for phase in ("history", "future"):
        active = np.arange(n) if phase == "history" else np.flatnonzero(alive)
        while active.size:
            now[active] += rng.exponential(1.0 / lam[active])
            active = active[now[active] < end[active]]
            spend = rng.gamma(TRUE_GG["p"], 1.0 / nu[active])
            if phase == "history":
                x[active] += 1
                t_x[active] = now[active]
                spent[active] += spend
            else:
                future[active] += spend
            drop = rng.random(active.size) < p[active]
            alive[active[drop]] = False
            active = active[~drop]
        now, end = T.copy(), T + HORIZON  # memoryless: the future starts at T
    m = np.where(x > 0, spent / np.maximum(x, 1), 0.0)
    summary = pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "monetary_value": m})
    return summary, future


def test_interval_covers_the_simulated_future_value_at_its_stated_rate() -> None:
    bg, gg = models()
    summary, future = simulate(20_000, seed=7)
    out = clv_outputs(summary, bg, gg, monthly_discount=0.0, n_draws=200)
    lo, hi = out["clv_12m_p10"].to_numpy(), out["clv_12m_p90"].to_numpy()
    assert np.mean(future > hi) == pytest.approx(0.1, abs=0.015)
    assert np.mean(future < lo) < 0.1  # the value is 0 for many, and so is their p10
    # where the p10 is above 0 both tails hold 10 % (a little more: 200 draws' noise)
    buyers = lo > 0
    assert buyers.sum() > 5_000
    assert np.mean(future[buyers] < lo[buyers]) == pytest.approx(0.1, abs=0.02)
    assert np.mean(future[buyers] > hi[buyers]) == pytest.approx(0.1, abs=0.02)


def test_a_memo_across_chunks_gives_the_same_intervals() -> None:
    """One memo shared by two overlapping chunks (as materialize's chunks share one): every
    history's p10/p90 equal those drawn without it, and a repeated history is drawn once."""
    bg, gg = models()
    summary, _ = simulate(600, seed=4)
    whole = clv_outputs(summary, bg, gg, n_draws=200)
    memo = Memo()
    first = clv_outputs(summary.iloc[:400], bg, gg, n_draws=200, memo=memo)
    drawn = len(memo)
    second = clv_outputs(summary.iloc[200:], bg, gg, n_draws=200, memo=memo)
    together = pd.concat([first, second.iloc[200:]])
    pd.testing.assert_frame_equal(together, whole, check_exact=True)
    distinct = len(summary.drop_duplicates(subset=["frequency", "recency", "T"]))
    assert drawn < distinct == len(memo)  # the overlap: once
    other = clv_outputs(summary, bg, gg, n_draws=100, memo=memo)  # other draws: not shared
    pd.testing.assert_frame_equal(other, clv_outputs(summary, bg, gg, n_draws=100))


def test_quantiles_equal_those_of_both_order_statistics_placed() -> None:
    """One order statistic placed per level, its neighbour found beside it: bit-equal to
    the partial sort placing both (ties, zeros, other levels and draw counts)."""
    rng = np.random.default_rng(3)
    for n_draws in (1, 2, 7, 200):
        draws = np.round(rng.gamma(0.7, size=(40, n_draws)), 1)  # many ties
        draws[:8] = 0.0
        draws[8:16, : n_draws // 2] = 0.0
        for levels in ((0.1, 0.9), (0.0, 0.5, 1.0), (0.25, 0.75, 0.975)):
            pos = np.asarray(levels) * (n_draws - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, n_draws - 1)
            part = np.partition(draws, np.unique(np.concatenate([lo, hi])), axis=1)
            want = part[:, lo] + (pos - lo) * (part[:, hi] - part[:, lo])
            np.testing.assert_array_equal(quantiles(draws, levels), want)
