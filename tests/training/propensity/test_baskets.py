"""Basket rules against hand-counted baskets."""

from __future__ import annotations

import pandas as pd
import pytest

from training.propensity.baskets import basket_masks, basket_rules

from .conftest import clean


def _tx() -> pd.DataFrame:
    """Baskets: c1 day 1 {A,B,C} (two visits, one day), c1 day 2 {A,B}, c2 day 1 {A}
    (its C line is a return), c3 day 1 {B,C}."""
    rows = [
        ("c1", "2024-01-01 09:00", 5.0, "A"),
        ("c1", "2024-01-01 09:00", 6.0, "B"),
        ("c1", "2024-01-01 19:00", 7.0, "C"),
        ("c1", "2024-01-02 10:00", 5.0, "A"),
        ("c1", "2024-01-02 10:00", 5.0, "B"),
        ("c2", "2024-01-01 10:00", 5.0, "A"),
        ("c2", "2024-01-01 10:00", -3.0, "C"),
        ("c3", "2024-01-01 10:00", 2.0, "B"),
        ("c3", "2024-01-01 11:00", 2.0, "C"),
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "family"])
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "signup_date": "2023-12-01"})
    return clean(tx, customers).transactions


def test_masks_are_one_per_customer_day() -> None:
    masks, names = basket_masks(_tx())
    assert names == ["A", "B", "C"]
    assert sorted(masks.tolist()) == sorted([0b111, 0b011, 0b001, 0b110])


def test_rules_match_hand_counts() -> None:
    # N=4; A:3 B:3 C:2 AB:2 AC:1 BC:2 ABC:1
    rules = basket_rules(_tx(), max_size=3, min_support=0.0)
    assert len(rules) == 2 + 2 + 2 + 6
    got = rules.set_index(["antecedent", "consequent"])
    expected = {
        ("A", "B"): (2 / 4, 2 / 3, (2 / 3) / (3 / 4), 2),
        ("B", "C"): (2 / 4, 2 / 3, (2 / 3) / (2 / 4), 2),
        ("C", "B"): (2 / 4, 1.0, 1.0 / (3 / 4), 2),
        ("A", "C"): (1 / 4, 1 / 3, (1 / 3) / (2 / 4), 1),
        ("A + B", "C"): (1 / 4, 1 / 2, (1 / 2) / (2 / 4), 1),
        ("C", "A + B"): (1 / 4, 1 / 2, (1 / 2) / (2 / 4), 1),
        ("B + C", "A"): (1 / 4, 1 / 2, (1 / 2) / (3 / 4), 1),
    }
    for key, (support, confidence, lift, n) in expected.items():
        row = got.loc[key]
        assert row["support"] == pytest.approx(support)
        assert row["confidence"] == pytest.approx(confidence)
        assert row["lift"] == pytest.approx(lift)
        assert row["n_baskets"] == n
    assert rules["lift"].is_monotonic_decreasing
    assert list(rules.columns[:6]) == [
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
        "n_baskets",
    ]


def test_size_and_support_limits() -> None:
    pairs = basket_rules(_tx(), max_size=2, min_support=0.0)
    assert set(pairs["size"]) == {2} and len(pairs) == 6
    frequent = basket_rules(_tx(), max_size=None, min_support=0.3)
    assert set(zip(frequent["antecedent"], frequent["consequent"], strict=True)) == {
        ("A", "B"),
        ("B", "A"),
        ("B", "C"),
        ("C", "B"),
    }


def test_no_pairs_gives_empty_table_with_columns() -> None:
    tx = _tx()
    one = tx.loc[tx["family"] == "A"]
    rules = basket_rules(one)
    assert rules.empty and "lift" in rules.columns


def test_input_not_modified() -> None:
    tx = _tx()
    before = tx.copy()
    basket_rules(tx)
    pd.testing.assert_frame_equal(tx, before)
