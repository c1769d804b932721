"""Keyed random numbers: a function of the key alone, and the right distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from training.clv.keyed import draw_keys, gamma_pair, high_uniform, history_keys, low_uniform

N = 40_000
KS_1PCT = 1.63 / np.sqrt(N)  # Kolmogorov-Smirnov critical value at the 1 % level


def test_history_keys_follow_the_values_not_the_rows() -> None:
    x = np.array([0.0, 3.0, 3.0, 10.0])
    t_x = np.array([0.0, 50.0, 50.0, 300.0])
    T = np.array([40.0, 90.0, 90.0, 365.0])
    keys = history_keys(0, x, t_x, T)
    assert keys.dtype == np.uint64
    assert keys[1] == keys[2] and len(set(keys.tolist())) == 3
    perm = np.array([3, 1, 0, 2])
    assert np.array_equal(history_keys(0, x[perm], t_x[perm], T[perm]), keys[perm])
    assert np.array_equal(history_keys(0, x[2:3], t_x[2:3], T[2:3]), keys[2:3])
    assert np.array_equal(history_keys(0, x, -t_x, T)[:1], keys[:1])  # -0.0 is 0.0
    assert not np.isin(history_keys(1, x, t_x, T), keys).any()  # the seed matters
    nudged = np.nextafter(T, np.inf)  # and the last bit of every value
    assert not np.isin(history_keys(0, x, t_x, nudged), keys).any()


def test_uniforms_from_the_two_halves_are_uniform_and_independent() -> None:
    bits = draw_keys(history_keys(0, np.arange(200.0)), N // 200).ravel()
    hi, lo = high_uniform(bits), low_uniform(bits)
    assert hi.min() > 0.0 and hi.max() < 1.0 and lo.min() > 0.0 and lo.max() < 1.0
    for u in (hi, lo):
        assert stats.kstest(u, "uniform").statistic < KS_1PCT
    assert abs(np.corrcoef(hi, lo)[0, 1]) < 4.0 / np.sqrt(N)
    # draws of one row are independent of each other, not only across rows
    one_row = draw_keys(history_keys(0, np.array([1.0])), N).ravel()
    assert stats.kstest(high_uniform(one_row), "uniform").statistic < KS_1PCT
    assert abs(np.corrcoef(high_uniform(one_row)[1:], high_uniform(one_row)[:-1])[0, 1]) < 0.02


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [(0.3, 40.0), (0.83, 3.1), (1.0, 1.7), (12.5, 0.6)]
)
def test_gamma_pair_draws_follow_their_gamma_laws(shape_a: float, shape_b: float) -> None:
    keys = draw_keys(history_keys(5, np.array([shape_a, shape_b])), N // 2).ravel()
    a, b = gamma_pair(keys, np.full(N, shape_a), np.full(N, shape_b))
    for draws, shape in ((a, shape_a), (b, shape_b)):
        assert (draws > 0).all()
        assert stats.kstest(draws, stats.gamma(shape).cdf).statistic < KS_1PCT
        assert draws.mean() == pytest.approx(shape, rel=4.0 / np.sqrt(shape * N))
    assert abs(stats.spearmanr(a, b).statistic) < 4.0 / np.sqrt(N)


def test_gamma_pair_draws_depend_on_their_own_key_and_shape_only() -> None:
    keys = draw_keys(history_keys(0, np.arange(50.0)), 100).ravel()
    rng = np.random.default_rng(0)
    shape_a, shape_b = rng.uniform(0.2, 30.0, len(keys)), rng.uniform(0.5, 3.0, len(keys))
    a, b = gamma_pair(keys, shape_a, shape_b)
    perm = rng.permutation(len(keys))
    pa, pb = gamma_pair(keys[perm], shape_a[perm], shape_b[perm])
    assert np.array_equal(pa, a[perm]) and np.array_equal(pb, b[perm])
    for part in (slice(0, 1), slice(7, 8), slice(100, 3_333)):
        sa, sb = gamma_pair(keys[part], shape_a[part], shape_b[part])
        assert np.array_equal(sa, a[part]) and np.array_equal(sb, b[part])
