"""BG/NBD: the published CDNOW fit, numerical stability, weights and the sklearn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from training.clv import BetaGeo


def test_reproduces_fader_hardie_lee_2005(cdnow_bgnbd: BetaGeo) -> None:
    m = cdnow_bgnbd
    assert round(m.r_, 3) == 0.243
    assert round(m.alpha_, 3) == 4.414
    assert round(m.a_, 3) == 0.793
    assert round(m.b_, 3) == 2.426
    assert m.loglik_ == pytest.approx(-9582.43, abs=0.01)
    assert m.n_customers_ == 2357 and m.n_histories_ < 2357


def test_holdout_prediction_matches_paper(
    cdnow_bgnbd: BetaGeo, cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary
    expected = cdnow_bgnbd.conditional_expected_purchases(39, s["frequency"], s["recency"], s["T"])
    assert expected.sum() == pytest.approx(1653, abs=1)


def test_agrees_with_lifetimes(cdnow_bgnbd: BetaGeo, cdnow_summary: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    s = cdnow_summary
    ref = lifetimes.BetaGeoFitter()
    ref.params_ = pd.Series(cdnow_bgnbd.params_)
    f, r, t = s["frequency"], s["recency"], s["T"]
    np.testing.assert_allclose(
        cdnow_bgnbd.conditional_probability_alive(f, r, t),
        ref.conditional_probability_alive(f, r, t),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        cdnow_bgnbd.conditional_expected_purchases(26, f, r, t),
        ref.conditional_expected_number_of_purchases_up_to_time(26, f, r, t),
        rtol=1e-8,
    )
    horizons = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        cdnow_bgnbd.expected_purchases(horizons),
        ref.expected_number_of_purchases_up_to_time(horizons),
        rtol=1e-9,
    )
    for n in (0, 1, 5):
        assert cdnow_bgnbd.probability_of_purchases(39, n) == pytest.approx(
            ref.probability_of_n_purchases_up_to_time(39, n), rel=1e-9
        )


def test_heavy_buyers_and_long_histories_stay_finite() -> None:
    rng = np.random.default_rng(3)
    n = 400
    T = rng.uniform(10, 5000, n)
    x = np.floor(rng.uniform(0, 1, n) * T * 2)
    x[:3] = [10_000, 10_000, 0]
    T[:3] = 5000
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    t_x[:2] = [4999.0, 10.0]
    m = BetaGeo().fit(x, t_x, T)
    assert all(np.isfinite(v) and v > 0 for v in m.params_.values())
    assert np.isfinite(m.loglik_)
    for values in (
        m.loglik_per_customer(x, t_x, T),
        m.conditional_probability_alive(x, t_x, T),
        m.conditional_expected_purchases(365, x, t_x, T),
    ):
        assert np.isfinite(values).all()
    alive = m.conditional_probability_alive(x[:2], t_x[:2], T[:2])
    assert alive[0] > 0.99 and alive[1] < 1e-6


def test_probability_alive_falls_as_the_last_purchase_ages(cdnow_bgnbd: BetaGeo) -> None:
    recency = np.array([38.0, 30.0, 20.0, 10.0, 1.0])
    alive = cdnow_bgnbd.conditional_probability_alive(np.full(5, 4), recency, np.full(5, 39.0))
    assert (np.diff(alive) < 0).all()


def test_collapsed_fit_equals_weighted_and_uncollapsed() -> None:
    rng = np.random.default_rng(0)
    base = pd.DataFrame(
        {
            "f": rng.poisson(2, 60).astype(float),
            "T": rng.integers(20, 40, 60).astype(float),
        }
    )
    base["r"] = np.where(base["f"] > 0, np.floor(rng.uniform(0, 1, 60) * base["T"]), 0.0)
    counts = rng.integers(1, 6, 60)
    repeated = base.loc[base.index.repeat(counts)]
    full = BetaGeo().fit(repeated["f"], repeated["r"], repeated["T"])
    weighted = BetaGeo().fit(base["f"], base["r"], base["T"], weights=counts)
    for key, value in full.params_.items():
        assert weighted.params_[key] == pytest.approx(value, rel=1e-6)
    assert weighted.loglik_ == pytest.approx(full.loglik_, rel=1e-10)
    assert full.n_customers_ == counts.sum() and full.n_histories_ <= 60


def test_sklearn_estimator_contract(cdnow_bgnbd: BetaGeo) -> None:
    fresh = BetaGeo(tol=1e-8, max_iter=50)
    assert fresh.get_params() == {"tol": 1e-8, "max_iter": 50}
    assert not hasattr(fresh, "r_")
    cloned = clone(cdnow_bgnbd)
    assert cloned.get_params() == cdnow_bgnbd.get_params()
    assert not hasattr(cloned, "r_")


@pytest.mark.parametrize(
    ("f", "r", "t", "message"),
    [
        ([1], [5], [4], "recency exceeds T"),
        ([0], [2], [4], "frequency 0 must have recency 0"),
        ([-1], [0], [4], "non-negative"),
        ([1], [np.nan], [4], "recency: 1 value"),
    ],
)
def test_bad_inputs_are_named(f: list[float], r: list[float], t: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BetaGeo().fit(f, r, t)


def test_fast_likelihood_equals_textbook_rows_and_gradient() -> None:
    from training.clv.bgnbd import _Histories, _loglik_and_grad, _loglik_rows

    rng = np.random.default_rng(5)
    x = rng.poisson(3, 300).astype(float)
    T = rng.integers(5, 300, 300).astype(float)
    t_x = np.where(x > 0, np.floor(rng.uniform(0, 1, 300) * T), 0.0)
    w = rng.integers(1, 4, 300).astype(float)
    theta = np.log([0.4, 20.0, 0.9, 3.0])
    h = _Histories.build(x, t_x, T, w)
    ll, grad = _loglik_and_grad(theta, h)
    assert ll == pytest.approx(w @ _loglik_rows(0.4, 20.0, 0.9, 3.0, x, t_x, T), rel=1e-12)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6
        numeric = (_loglik_and_grad(theta + e, h)[0] - _loglik_and_grad(theta - e, h)[0]) / 2e-6
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def _simulate_bgnbd(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD histories in whole days (r=0.25, α=30, a=0.8, b=2.5), T up to a year."""
    rng = np.random.default_rng(seed)
    T = rng.integers(7, 366, n).astype(float)
    lam, p = rng.gamma(0.25, 1 / 30.0, n), rng.beta(0.8, 2.5, n)
    x, last, now = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1.0 / lam[active])
        active = active[now[active] < T[active]]
        x[active] += 1
        last[active] = now[active]
        active = active[rng.random(active.size) >= p[active]]
    return x, np.floor(last), T


def test_warm_start_on_a_sample_reaches_the_same_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    import training.clv.bgnbd as bgnbd

    x, t_x, T = _simulate_bgnbd(30_000, seed=11)
    monkeypatch.setattr(bgnbd, "WARM_START_HISTORIES", 3_000)
    warm = BetaGeo().fit(x, t_x, T)
    assert warm.n_histories_ > bgnbd.WARM_START_HISTORIES
    monkeypatch.setattr(bgnbd, "WARM_START_HISTORIES", 10**9)
    cold = BetaGeo().fit(x, t_x, T)
    for key, value in cold.params_.items():
        assert warm.params_[key] == pytest.approx(value, rel=1e-6)
    assert warm.loglik_ == pytest.approx(cold.loglik_, abs=1e-6)
