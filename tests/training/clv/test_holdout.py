"""The conditional purchase pmf: a distribution whose mean is each model's closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.clv import BetaGeo, ParetoNBD
from training.clv.holdout import conditional_purchase_pmf, holdout_loglik, probability_no_purchase
from training.clv.mbgnbd import ModifiedBetaGeo


@pytest.fixture(scope="module")
def models(cdnow_summary: pd.DataFrame) -> list[object]:
    s = cdnow_summary
    args = (s["frequency"], s["recency"], s["T"])
    return [BetaGeo().fit(*args), ModifiedBetaGeo().fit(*args), ParetoNBD().fit(*args)]


def test_pmf_sums_to_one_and_its_mean_is_the_closed_form(
    models: list[object], cdnow_summary: pd.DataFrame
) -> None:
    s = cdnow_summary
    hist = (s["frequency"], s["recency"], s["T"])
    for model in models:
        probs = np.array([conditional_purchase_pmf(model, n, 39, *hist) for n in range(150)])
        np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-9)
        mean = (np.arange(150)[:, None] * probs).sum(axis=0)
        expected = model.conditional_expected_purchases(39, *hist)  # type: ignore[attr-defined]
        np.testing.assert_allclose(mean, expected, rtol=1e-8, atol=1e-10)


def test_bgnbd_zero_purchases_has_the_textbook_form(models: list[object]) -> None:
    bg = models[0]
    assert isinstance(bg, BetaGeo)
    x, t_x, T, t = np.array([3.0]), np.array([20.0]), np.array([38.0]), 39.0
    alive = bg.conditional_probability_alive(x, t_x, T)
    q = (bg.alpha_ + T) / (bg.alpha_ + T + t)
    assert probability_no_purchase(bg, t, x, t_x, T) == pytest.approx(
        1 - alive * (1 - q ** (bg.r_ + x))
    )


def test_pareto_pmf_matches_monte_carlo() -> None:
    m = ParetoNBD()
    m.r_, m.alpha_, m.s_, m.beta_ = 0.8, 10.0, 0.7, 12.0
    x, t_x, T, t = 2.0, 15.0, 30.0, 39.0
    rng = np.random.default_rng(0)
    k = 400_000
    alive = rng.random(k) < m.conditional_probability_alive([x], [t_x], [T])[0]
    lam = rng.gamma(m.r_ + x, 1.0 / (m.alpha_ + T), k)
    mu = rng.gamma(m.s_, 1.0 / (m.beta_ + T), k)
    exposure = np.minimum(rng.exponential(1.0 / mu), t)
    n = np.where(alive, rng.poisson(lam * exposure), 0)
    for count in range(4):
        assert conditional_purchase_pmf(m, count, t, [x], [t_x], [T])[0] == pytest.approx(
            (n == count).mean(), abs=3e-3
        )


def test_holdout_loglik_prefers_the_true_model() -> None:
    """Data simulated from MBG/NBD (many one-time buyers die) is likelier under MBG/NBD."""
    rng = np.random.default_rng(1)
    n, T, t = 4000, 40.0, 40.0
    lam = rng.gamma(0.8, 1 / 5.0, n)
    p = rng.beta(0.8, 1.5, n)
    x, t_x, hold = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        alive, now, events = rng.random() >= p[i], 0.0, []
        while alive:
            now += rng.exponential(1 / lam[i])
            if now > T + t:
                break
            events.append(now)
            alive = rng.random() >= p[i]
        cal = [e for e in events if e <= T]
        x[i], t_x[i], hold[i] = len(cal), (cal[-1] if cal else 0.0), len(events) - len(cal)
    args = (x, t_x, np.full(n, T))
    mbg, bg = ModifiedBetaGeo().fit(*args), BetaGeo().fit(*args)
    assert holdout_loglik(mbg, hold, t, *args).sum() > holdout_loglik(bg, hold, t, *args).sum()


def test_counts_must_be_whole() -> None:
    bg = BetaGeo()
    bg.r_, bg.alpha_, bg.a_, bg.b_ = 0.2, 4.0, 0.8, 2.4
    with pytest.raises(ValueError, match="whole numbers"):
        conditional_purchase_pmf(bg, 1.5, 10, [1.0], [2.0], [5.0])
