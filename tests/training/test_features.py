"""Features by hand on the tiny tables, and point-in-time correctness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.data.contract import CleanData, validate
from training.data.features import category_codes, compute_features, slugs

from .conftest import AS_OF, tiny_tables

NAN = np.nan


def test_features_match_hand_computed_frame(tiny: CleanData) -> None:
    got = compute_features(tiny.transactions, tiny.customers, AS_OF)
    expected = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "recency_days": [30 - 11 / 24, 85 + 12 / 24, NAN],
            "frequency": [4.0, 1.0, 0.0],
            "n_transactions": [5.0, 1.0, 0.0],
            "monetary_mean": [65 / 4, 40.0, NAN],
            "spend_total": [60.0, 40.0, 0.0],
            "gross_spend": [65.0, 40.0, 0.0],
            "margin_total": [12.0, 8.0, 0.0],
            "margin_365d": [12.0, 8.0, 0.0],
            "spend_365d": [60.0, 40.0, 0.0],
            "tenure_days": [91.0, 87.0, 31.0],
            "days_since_first": [91 - 9 / 24, 86 - 12 / 24, NAN],
            "return_rate": [0.2, 0.0, NAN],
            # last 90 days = [2024-01-02, 2024-04-01)
            "spend_last_90d": [45.0, 40.0, 0.0],
            "spend_prev_90d": [15.0, 0.0, 0.0],
            "spend_trend": [0.5, 1.0, 0.0],
            "weekend_share": [0.2, 1.0, NAN],
            "n_purchase_days": [3.0, 1.0, 0.0],
            "btyd_frequency": [2.0, 0.0, 0.0],
            "btyd_recency": [61.0, 0.0, NAN],
            "btyd_T": [90.0, 85.0, NAN],
            "btyd_monetary": [25.0, 0.0, 0.0],
            "ipt_mean_days": [30.5, NAN, NAN],
            "ipt_std_days": [np.sqrt(840.5), NAN, NAN],
            "fam_share__bakery": [35 / 65, 1.0, NAN],
            "fam_count__bakery": [2.0, 1.0, 0.0],
            "fam_share__fresh": [30 / 65, 0.0, NAN],
            "fam_count__fresh": [2.0, 0.0, 0.0],
            "chan_share__online": [0.2, 1.0, NAN],
            "chan_share__store": [0.8, 0.0, NAN],
            "attr_region": ["north", "south", "north"],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-9)


def test_future_events_change_no_feature(tiny: CleanData) -> None:
    before = compute_features(tiny.transactions, tiny.customers, AS_OF)
    tx, customers = tiny_tables()
    later = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "A"],
            "ts": ["2024-04-01 00:00", "2024-05-01", "2024-06-01", "2025-01-01"],
            "amount": [100.0, -50.0, 70.0, 1.0],
            "margin": [10.0, -5.0, 7.0, 0.1],
            "family": ["fresh", "bakery", "fresh", "fresh"],
            "channel": ["phone", "store", "online", "store"],
        }
    )
    more = validate(pd.concat([tx, later]), customers, now=pd.Timestamp("2026-01-01"))
    after = compute_features(
        more.transactions, more.customers, AS_OF, families=tiny.families, channels=tiny.channels
    )
    pd.testing.assert_frame_equal(before, after)


def test_weeks_divide_the_btyd_times(tiny: CleanData) -> None:
    days = compute_features(tiny.transactions, tiny.customers, AS_OF)
    weeks = compute_features(tiny.transactions, tiny.customers, AS_OF, time_unit_days=7)
    np.testing.assert_allclose(weeks["btyd_T"], days["btyd_T"] / 7)
    np.testing.assert_allclose(weeks["btyd_recency"], days["btyd_recency"] / 7)
    np.testing.assert_allclose(weeks["btyd_frequency"], days["btyd_frequency"])


def test_inputs_are_not_modified(tiny: CleanData) -> None:
    tx_before = tiny.transactions.copy()
    cu_before = tiny.customers.copy()
    compute_features(tiny.transactions, tiny.customers, AS_OF)
    pd.testing.assert_frame_equal(tiny.transactions, tx_before)
    pd.testing.assert_frame_equal(tiny.customers, cu_before)


def test_colliding_category_names_are_an_error() -> None:
    with pytest.raises(ValueError, match="collide"):
        slugs(["Fresh Food", "fresh-food"])


def test_spend_trend_is_flat_when_purchases_and_returns_cancel() -> None:
    from training.data.features import _trend

    # 6.74 + 1.38 - 1.38 - 6.74 sums to 8.9e-16 in one order and to 0.0 in another
    last = np.array([6.74 + 1.38 - 1.38 - 6.74, 0.0, 5.0])
    prev = np.array([0.0, 0.0, 5.0])
    np.testing.assert_array_equal(_trend(last, prev), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(_trend(np.array([1e-6]), np.array([0.0])), [1.0])


def test_category_codes_equal_those_of_a_categorical_built_from_the_values() -> None:
    """The families' codes through the column's own categories (no object per row): the
    codes pandas gives the values, with other orders, unknown values and missing ones."""
    values = pd.Series(["wine", "bakery", None, "toys", "wine", "bakery"], dtype="category")
    for categories in (["bakery", "wine"], ["wine", "bakery", "toys"], ["beauty"], []):
        want = pd.Categorical(values.to_numpy(), categories=categories).codes
        np.testing.assert_array_equal(category_codes(values, categories), want)
    plain = values.astype(object)
    np.testing.assert_array_equal(
        category_codes(plain, ["bakery", "wine"]), category_codes(values, ["bakery", "wine"])
    )
