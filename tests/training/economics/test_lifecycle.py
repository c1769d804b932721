"""Lifecycle stages on hand-built histories, one customer per rule, dates worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.economics.lifecycle import STAGES, LifecycleRules, lifecycle, transitions

AS_OF = pd.Timestamp("2024-07-01")


def _history() -> tuple[pd.DataFrame, pd.Series]:
    rows: list[tuple[str, str, float]] = [("N", "2024-06-10", 5.0)]
    rows += [("L", "2023-01-10", 5.0), ("L", "2023-02-10", 5.0)]
    rows += [
        ("R", d.strftime("%Y-%m-%d"), 5.0)
        for d in pd.date_range("2024-01-02", "2024-04-01", freq="10D")
    ]
    rows += [
        ("W", d, 5.0)
        for d in ("2023-01-05", "2023-01-15", "2023-01-25", "2024-06-15", "2024-06-25")
    ]
    months = pd.date_range("2023-07-01", "2024-06-30", freq="MS")
    rows += [
        ("D", d.strftime("%Y-%m-%d"), 30.0 if d >= pd.Timestamp("2024-04-02") else 10.0)
        for d in months
    ]
    rows += [("A", d.strftime("%Y-%m-%d"), 10.0) for d in months]
    rows += [("A", "2024-05-20", -10.0)]  # a return is no purchase
    tx = pd.DataFrame(rows, columns=["customer_id", "ts", "amount"]).assign(
        ts=lambda f: pd.to_datetime(f["ts"]) + pd.Timedelta(hours=10)
    )
    signup = pd.Series(
        pd.to_datetime(["2024-06-01", *["2023-01-01"] * 5, "2023-01-01"]),
        index=["N", "L", "R", "W", "D", "A", "X"],
    )
    return tx, signup


def test_one_customer_per_stage() -> None:
    tx, signup = _history()
    ids = pd.Index(["N", "L", "R", "W", "D", "A", "X"])
    out = lifecycle(tx, signup, ids, AS_OF)
    assert out["lifecycle_stage"].to_dict() == {
        "N": "new",
        "L": "lapsed",  # median gap 31 days: lapsed after max(4 x 31, 180) = 180 days
        "R": "at risk",  # gap 10: at risk after max(2 x 10, 60) = 60 days without a purchase
        "W": "won back",  # gaps 10, 10, 507, 10: the 507-day lapse ended on 2024-06-15
        "D": "developing",  # 3 x 30 in the last 90 days against 3 x 10 before: trend 0.5
        "A": "active",
        "X": "lapsed",  # signed up 18 months ago, never bought
    }
    assert out["lifecycle_since"].to_dict() == {
        "N": "2024-06-01",
        "L": "2023-08-10",  # 2023-02-11 + 180 days
        "R": "2024-06-01",  # 2024-04-01's day ends 04-02; + 60 days
        "W": "2024-06-15",
        "D": "2024-04-02",  # as_of - 90 days
        "A": "2023-07-01",  # the first purchase (after "new" had ended)
        "X": "2023-04-01",  # sign-up + 90 days: "new" ended without a purchase
    }


def test_churn_risk_makes_an_active_customer_at_risk_from_as_of() -> None:
    tx, signup = _history()
    ids = pd.Index(["A", "D"])
    out = lifecycle(tx, signup, ids, AS_OF, churn=np.array([0.9, np.nan]))
    assert out.loc["A"].tolist() == ["at risk", "2024-07-01"]
    assert out.loc["D", "lifecycle_stage"] == "developing"  # NaN churn: no score, no rule


def test_rules_are_configurable_and_checked() -> None:
    tx, signup = _history()
    out = lifecycle(tx, signup, pd.Index(["N"]), AS_OF, rules=LifecycleRules(new_days=10))
    assert out.loc["N", "lifecycle_stage"] == "active"
    with pytest.raises(ValueError, match="new_days"):
        LifecycleRules(new_days=-1)


def test_future_purchases_change_nothing() -> None:
    tx, signup = _history()
    ids = pd.Index(["N", "L", "R", "W", "D", "A", "X"])
    later = pd.concat(
        [
            tx,
            pd.DataFrame(
                {
                    "customer_id": ["L", "R"],
                    "ts": pd.to_datetime(["2024-07-02"] * 2),
                    "amount": [5.0, 5.0],
                }
            ),
        ]
    )
    pd.testing.assert_frame_equal(
        lifecycle(tx, signup, ids, AS_OF), lifecycle(later, signup, ids, AS_OF)
    )


def test_transition_matrix_counts_moves() -> None:
    before = pd.Series(["active", "active", "lapsed"], index=["a", "b", "c"])
    after = pd.Series(["at risk", "active", "won back", "new"], index=["a", "b", "c", "d"])
    table = transitions(before, after)
    assert list(table.columns) == list(STAGES)
    assert table.loc["active", "at risk"] == 1 and table.loc["active", "active"] == 1
    assert table.loc["lapsed", "won back"] == 1 and table.loc["not yet a customer", "new"] == 1
    assert int(table.to_numpy().sum()) == 4
