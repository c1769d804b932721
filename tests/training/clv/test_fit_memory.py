"""A purchase-model fit repeated on the same data takes the first fit's attributes."""

from __future__ import annotations

import numpy as np
import pytest

import training.clv.bgnbd as bgnbd
from tests.training.clv.test_bgnbd import _simulate_bgnbd
from training.clv import BetaGeo
from training.clv.mle import FIT_REPEATS
from training.clv.pareto_nbd import ParetoNBD


def test_a_repeat_fit_takes_the_first_ones_attributes_and_nothing_else_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, t_x, T = _simulate_bgnbd(3_000, seed=21)
    first = BetaGeo().fit(x, t_x, T)
    before = FIT_REPEATS[0]
    again = BetaGeo().fit(x.copy(), t_x.copy(), T.copy())  # equal data, other arrays
    assert FIT_REPEATS[0] == before + 1
    assert again.params_ == first.params_ and again.loglik_ == first.loglik_
    assert np.array_equal(again.log_params_cov_, first.log_params_cov_)
    assert again.log_params_cov_ is not first.log_params_cov_  # a copy: no shared state
    # anything that changes the fit fits again
    other = x.copy()
    other[np.flatnonzero(x > 0)[0]] += 1
    changed = BetaGeo().fit(other, t_x, T)
    looser = BetaGeo(tol=1e-6).fit(x, t_x, T)
    monkeypatch.setattr(bgnbd, "WARM_START_HISTORIES", 100)  # a module setting of the fit
    warm = BetaGeo().fit(x, t_x, T)
    assert FIT_REPEATS[0] == before + 1
    assert changed.loglik_ != first.loglik_
    assert warm.n_histories_ == looser.n_histories_ == first.n_histories_  # fitted, not taken


def test_pareto_nbd_repeats_are_remembered_too() -> None:
    x, t_x, T = _simulate_bgnbd(800, seed=4)
    first = ParetoNBD().fit(x, t_x, T)
    before = FIT_REPEATS[0]
    again = ParetoNBD().fit(x, t_x, T)
    assert FIT_REPEATS[0] == before + 1 and again.params_ == first.params_
