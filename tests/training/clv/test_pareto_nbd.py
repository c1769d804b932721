"""Pareto/NBD: the published CDNOW fit and a stable likelihood for heavy buyers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.clv import ParetoNBD
from training.clv.pareto_nbd import _loglik


def test_reproduces_published_cdnow_fit(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    m = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    assert round(m.r_, 3) == 0.553
    assert round(m.alpha_, 3) == 10.578
    assert round(m.s_, 3) == 0.606
    assert round(m.beta_, 3) == 11.669
    assert m.loglik_ == pytest.approx(-9594.98, abs=0.01)
    alive = m.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    assert ((alive > 0) & (alive <= 1)).all()


def test_published_parameters_give_published_loglik(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    ll = _loglik(
        np.array([0.553, 10.578, 0.606, 11.669]),
        s["frequency"].to_numpy(dtype=float),
        s["recency"].to_numpy(),
        s["T"].to_numpy(),
    )
    assert ll.sum() == pytest.approx(-9594.98, abs=0.01)


@pytest.mark.parametrize("params", [[0.553, 10.578, 0.606, 11.669], [0.6, 12.0, 0.5, 3.0]])
def test_heavy_buyers_stay_finite(params: list[float]) -> None:
    x = np.array([10_000.0, 10_000.0, 5_000.0, 0.0])
    t_x = np.array([4_999.0, 10.0, 5_000.0, 0.0])
    T = np.full(4, 5_000.0)
    assert np.isfinite(_loglik(np.array(params), x, t_x, T)).all()


def test_warm_start_on_a_sample_reaches_the_same_optimum(
    cdnow_summary: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large data starts from a fit on a multinomial sample; the optimum is the same."""
    from training.clv import pareto_nbd

    s = cdnow_summary
    precise = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    monkeypatch.setattr(pareto_nbd, "WARM_START_HISTORIES", 300)
    warm = ParetoNBD().fit(s["frequency"], s["recency"], s["T"])
    assert warm.loglik_ == pytest.approx(precise.loglik_, abs=0.01)
    assert warm.r_ == pytest.approx(precise.r_, rel=1e-2)
