"""Tiny hand-written tables shared by the feature, label and snapshot tests."""

from __future__ import annotations

import pandas as pd
import pytest

from training.data.contract import CleanData, validate

AS_OF = pd.Timestamp("2024-04-01")


def tiny_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers A, B (buyers), C (signed up, never bought), D and E (sign up later)."""
    rows = [
        # customer, ts, amount, margin, family, channel
        ("A", "2024-01-01 09:00", 10.0, 2.0, "fresh", "store"),
        ("A", "2024-01-01 18:00", 5.0, 1.0, "bakery", "online"),
        ("A", "2024-01-11 10:00", 20.0, 4.0, "fresh", "store"),
        ("A", "2024-01-31 10:00", -5.0, -1.0, "fresh", "store"),  # a return
        ("A", "2024-03-02 11:00", 30.0, 6.0, "bakery", "store"),  # a Saturday
        ("A", "2024-04-05 10:00", 30.0, 6.0, "fresh", "store"),  # future
        ("B", "2024-01-06 12:00", 40.0, 8.0, "bakery", "online"),  # a Saturday
        ("B", "2024-04-01 00:00", 10.0, 2.0, "fresh", "online"),  # exactly at as_of: label
        ("D", "2024-04-20 10:00", 7.0, 1.0, "bakery", "store"),
        ("E", "2024-07-01 10:00", 9.0, 1.0, "fresh", "store"),  # makes the data cover 90d
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "margin", "family", "channel"])
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E"],
            "signup_date": ["2024-01-01", "2024-01-05", "2024-03-01", "2024-04-10", "2024-06-30"],
            "region": ["north", "south", "north", "south", "north"],
        }
    )
    return tx, customers


@pytest.fixture
def tiny() -> CleanData:
    tx, customers = tiny_tables()
    return validate(tx, customers, now=pd.Timestamp("2025-01-01"))
