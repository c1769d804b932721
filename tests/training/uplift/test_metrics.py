"""Qini and uplift curves, Qini coefficient and AUUC on a six-customer table worked by hand.

The expected figures were also checked against scikit-uplift 0.5.1's ``qini_auc_score`` and
``uplift_auc_score`` (equal to 1e-12 on random tables with and without ties); the package
is not a dependency, so the test holds the hand-worked numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from training.uplift.metrics import auuc, qini_coefficient, qini_curve, random_qini, uplift_curve

# customers best-ranked first: a treated responder, a control non-responder, a treated
# responder, a treated non-responder, a control responder, a control non-responder
Y = np.array([1, 0, 1, 0, 1, 0], dtype=float)
T = np.array([1, 0, 1, 1, 0, 0], dtype=float)
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_by_hand() -> None:
    # q(n) = r_t - r_c * n_t / n_c; n=5: 2 - 1 * 3 / 2 = 0.5
    x, q = qini_curve(Y, T, SCORE)
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(q, [0, 1, 1, 2, 2, 0.5, 1])


def test_uplift_curve_by_hand() -> None:
    # u(n) = (r_t / n_t - r_c / n_c) * n, 0 where a group is still empty
    _, u = uplift_curve(Y, T, SCORE)
    np.testing.assert_allclose(u, [0, 1, 2, 3, 8 / 3, 5 / 6, 2])


def test_normalized_areas_by_hand() -> None:
    # Qini: area 7, random 6 * 1 / 2 = 3, perfect order (treated responders first, the
    # control responder last) 9.5 -> (7 - 3) / (9.5 - 3)
    assert qini_coefficient(Y, T, SCORE) == pytest.approx(4 / 6.5)
    # AUUC: area 10.5, random 6, perfect 43/3 -> 4.5 / (43/3 - 6)
    assert auuc(Y, T, SCORE) == pytest.approx(0.54)


def test_ties_form_one_step_and_a_constant_score_is_random() -> None:
    x, q = qini_curve(Y, T, np.array([1, 1, 0, 0, 0, 0.0]))
    np.testing.assert_array_equal(x, [0, 2, 6])
    np.testing.assert_allclose(q, [0, 1, 1])
    assert qini_coefficient(Y, T, np.zeros(6)) == pytest.approx(0.0)
    assert auuc(Y, T, np.zeros(6)) == pytest.approx(0.0)


def test_perfect_is_one_and_reversed_is_negative() -> None:
    best = Y * T - Y * (1 - T)
    assert qini_coefficient(Y, T, best) == pytest.approx(1.0)
    assert qini_coefficient(Y, T, -best) < 0


def test_random_orders_centre_on_zero() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.3).astype(float)
    t = (rng.random(2000) < 0.5).astype(float)
    null = random_qini(y, t, 200, seed=1)
    assert abs(null.mean()) < 0.02
    assert 0.0 < np.quantile(null, 0.95) < 0.2
    np.testing.assert_array_equal(null, random_qini(y, t, 200, seed=1))  # seeded
