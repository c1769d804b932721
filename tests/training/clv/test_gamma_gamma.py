"""Gamma-Gamma: the published CDNOW fit and value destroyers kept, not crashed on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from training.clv import GammaGamma


def test_reproduces_fader_hardie_lee_spend_model(cdnow_gg: GammaGamma) -> None:
    g = cdnow_gg
    assert g.n_fitted_ == 946
    assert round(g.p_, 2) == 6.25
    assert round(g.q_, 2) == 3.74
    assert round(g.v_, 2) == 15.44
    assert g.loglik_ == pytest.approx(-4055.92, abs=0.01)


def test_agrees_with_lifetimes(cdnow_gg: GammaGamma, cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    ref = lifetimes.GammaGammaFitter()
    ref.params_ = pd.Series(cdnow_gg.params_)
    np.testing.assert_allclose(
        cdnow_gg.conditional_expected_average_spend(repeat["frequency"], repeat["monetary_value"]),
        ref.conditional_expected_average_profit(repeat["frequency"], repeat["monetary_value"]),
        rtol=1e-12,
    )


def test_negative_and_zero_spenders_keep_their_own_mean(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    f = np.r_[s["frequency"].to_numpy(), 3, 2, 0]
    m = np.r_[s["monetary_value"].to_numpy(), -25.0, 0.0, 0.0]
    g = GammaGamma().fit(f, m)
    assert g.n_fitted_ == 946 and g.n_excluded_ == len(f) - 946
    assert round(g.p_, 2) == 6.25  # the extra rows do not enter the fit
    spend = g.conditional_expected_average_spend(f, m)
    assert np.isfinite(spend).all()
    assert spend[-3] == -25.0 and spend[-2] == 0.0
    assert spend[-1] == pytest.approx(g.p_ * g.v_ / (g.q_ - 1))


def test_shrinks_towards_the_population_mean(cdnow_gg: GammaGamma) -> None:
    few, many = cdnow_gg.conditional_expected_average_spend([1, 50], [200.0, 200.0])
    assert cdnow_gg.population_mean_ < few < many < 200.0


def test_needs_positive_repeat_spend() -> None:
    with pytest.raises(ValueError, match="positive spend"):
        GammaGamma().fit([0, 2, 3], [0.0, -1.0, 0.0])


def test_weights_and_clone(cdnow_gg: GammaGamma) -> None:
    f = np.array([1, 2, 2, 5, 3, 1])
    m = np.array([10.0, 30.0, 30.0, 12.5, 44.0, 10.0])
    full = GammaGamma().fit(f, m)
    weighted = GammaGamma().fit([1, 2, 5, 3], [10.0, 30.0, 12.5, 44.0], weights=[2, 2, 1, 1])
    for key, value in full.params_.items():
        assert weighted.params_[key] == pytest.approx(value, rel=1e-5)
    assert not hasattr(clone(cdnow_gg), "p_")


def test_fast_likelihood_equals_textbook_rows() -> None:
    from training.clv.gamma_gamma import _loglik_and_grad, _loglik_rows, _Spends

    rng = np.random.default_rng(2)
    x = rng.integers(1, 30, 200).astype(float)
    m = rng.gamma(5.0, 8.0, 200)
    w = rng.integers(1, 4, 200).astype(float)
    theta = np.log([6.0, 3.7, 15.0])
    ll, grad = _loglik_and_grad(theta, _Spends.build(x, m, w))
    assert ll == pytest.approx(w @ _loglik_rows(6.0, 3.7, 15.0, x, m), rel=1e-12)
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6
        up = _loglik_and_grad(theta + e, _Spends.build(x, m, w))[0]
        down = _loglik_and_grad(theta - e, _Spends.build(x, m, w))[0]
        assert grad[i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-4)
