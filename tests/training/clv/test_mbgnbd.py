"""MBG/NBD: the published CDNOW fit (BTYDplus), lifetimes' formulas, one-time buyers can die."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from training.clv.mbgnbd import ModifiedBetaGeo


@pytest.fixture(scope="module")
def cdnow_mbgnbd(cdnow_summary: pd.DataFrame) -> ModifiedBetaGeo:
    s = cdnow_summary
    return ModifiedBetaGeo().fit(s["frequency"], s["recency"], s["T"])


def test_reproduces_btydplus_cdnow_fit(cdnow_mbgnbd: ModifiedBetaGeo) -> None:
    # BTYDplus (Platzer) mbgcnbd with k = 1 on the CDNOW sample, weeks 1-39
    m = cdnow_mbgnbd
    assert [round(v, 3) for v in (m.r_, m.alpha_, m.a_, m.b_)] == [0.525, 6.183, 0.891, 1.614]


def test_conditional_expectation_near_hardie_sheet(cdnow_mbgnbd: ModifiedBetaGeo) -> None:
    # the value lifetimes' tests take from Hardie's spreadsheet, with lifetimes' tolerance
    assert cdnow_mbgnbd.conditional_expected_purchases(39, 2, 30.43, 38.86)[0] == pytest.approx(
        1.226, abs=0.05
    )


def test_agrees_with_lifetimes(cdnow_mbgnbd: ModifiedBetaGeo, cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    s = cdnow_summary
    f, r, t = s["frequency"], s["recency"], s["T"]
    ref = lifetimes.ModifiedBetaGeoFitter()
    ref.params_ = pd.Series(cdnow_mbgnbd.params_)
    np.testing.assert_allclose(
        cdnow_mbgnbd.conditional_probability_alive(f, r, t),
        ref.conditional_probability_alive(f, r, t),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        cdnow_mbgnbd.conditional_expected_purchases(39, f, r, t),
        ref.conditional_expected_number_of_purchases_up_to_time(39, f, r, t),
        rtol=1e-8,
    )
    horizons = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        cdnow_mbgnbd.expected_purchases(horizons),
        ref.expected_number_of_purchases_up_to_time(horizons),
        rtol=1e-9,
    )


def test_one_time_buyers_die_as_time_passes(cdnow_mbgnbd: ModifiedBetaGeo) -> None:
    T = np.array([0.0, 1.0, 10.0, 39.0])
    alive = cdnow_mbgnbd.conditional_probability_alive(np.zeros(4), np.zeros(4), T)
    assert np.all(np.diff(alive) < 0) and alive[0] < 1.0
    m = cdnow_mbgnbd
    assert alive[0] == pytest.approx(1.0 / (1.0 + m.a_ / m.b_))  # at T = 0: only the first chance


def test_customers_seen_on_the_last_day_are_finite_and_carry_no_likelihood(
    cdnow_mbgnbd: ModifiedBetaGeo,
) -> None:
    ll = cdnow_mbgnbd.loglik_per_customer([0.0], [0.0], [0.0])
    assert ll[0] == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(cdnow_mbgnbd.conditional_expected_purchases(39, [0.0], [0.0], [0.0])).all()


def test_gradient_matches_finite_differences(cdnow_summary: pd.DataFrame) -> None:
    from training.clv.mbgnbd import _loglik_and_grad

    s = cdnow_summary.iloc[:300]
    args = tuple(s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    w = np.ones(len(s))
    theta = np.log([0.5, 6.0, 0.9, 1.6])
    _, grad = _loglik_and_grad(theta, *args, w)
    eps = 1e-6
    for i in range(4):
        e = np.zeros(4)
        e[i] = eps
        numeric = (
            _loglik_and_grad(theta + e, *args, w)[0] - _loglik_and_grad(theta - e, *args, w)[0]
        )
        assert grad[i] == pytest.approx(numeric / (2 * eps), rel=1e-5)


def test_weights_equal_repeated_rows_and_sklearn_contract() -> None:
    x, t_x, T = np.array([0.0, 2, 5]), np.array([0.0, 10, 30]), np.array([40.0, 40, 40])
    a = ModifiedBetaGeo().fit(x, t_x, T, weights=[3, 1, 2])
    b = ModifiedBetaGeo().fit(
        np.repeat(x, [3, 1, 2]), np.repeat(t_x, [3, 1, 2]), np.repeat(T, [3, 1, 2])
    )
    assert a.params_ == pytest.approx(b.params_, rel=1e-6)
    assert clone(a).get_params() == {"tol": 1e-9, "max_iter": 500}
