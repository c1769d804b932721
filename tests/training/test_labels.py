"""Labels by hand on the tiny tables; windows and coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.data.contract import CleanData
from training.data.labels import HorizonNotCoveredError, check_horizon, compute_labels
from training.data.snapshot import build_snapshot, read_snapshot, write_snapshot

from .conftest import AS_OF

NAN = np.nan


def test_labels_match_hand_computed_frame(tiny: CleanData) -> None:
    ids = pd.Index(["A", "B", "C"], name="customer_id")
    got = compute_labels(tiny.transactions, ids, AS_OF, 90)
    expected = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "label_churn": [0.0, 0.0, NAN],  # C never bought: cannot churn
            # previous window [2024-01-02, 2024-04-01): A 50 gross, B 40
            "label_partial_churn": [0.0, 1.0, NAN],
            "future_spend": [30.0, 10.0, 0.0],
            "future_margin": [6.0, 2.0, 0.0],
            "future_purchases": [1.0, 1.0, 0.0],
            "label_buy__bakery": [0.0, 0.0, 0.0],
            "label_first__bakery": [NAN, NAN, 0.0],
            "label_buy__fresh": [1.0, 1.0, 0.0],
            "label_first__fresh": [NAN, 1.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_a_total_churner_is_not_a_partial_churner(tiny: CleanData) -> None:
    """Partial churn is "still buying, but less": B without its purchase in the window
    churns totally, and is then no partial churner (the two labels are disjoint)."""
    tx = tiny.transactions
    gone = tx.loc[~((tx["customer_id"] == "B") & (tx["ts"] >= AS_OF))]
    ids = pd.Index(["A", "B", "C"], name="customer_id")
    got = compute_labels(gone, ids, AS_OF, 90)
    assert got["label_churn"].tolist()[:2] == [0.0, 1.0]
    assert got["label_partial_churn"].tolist()[:2] == [0.0, 0.0]
    both = compute_labels(tx, ids, AS_OF, 90)  # B still buys 10 of the 40 before: partial
    assert both["label_partial_churn"].tolist()[:2] == [0.0, 1.0]


def test_event_at_as_of_is_a_label_not_a_feature(tiny: CleanData) -> None:
    snap = build_snapshot(tiny, AS_OF, 90)
    b = snap.frame.set_index("customer_id").loc["B"]
    assert b["frequency"] == 1  # the 2024-04-01 00:00 purchase is not a feature
    assert b["future_purchases"] == 1  # but it is in the label window


def test_short_horizon_window_excludes_later_events(tiny: CleanData) -> None:
    ids = pd.Index(["A", "B", "C"], name="customer_id")
    got = compute_labels(tiny.transactions, ids, AS_OF, 2).set_index("customer_id")
    # A's purchase on 2024-04-05 is outside [04-01, 04-03): A churned in that window
    assert got.loc["A", "label_churn"] == 1.0
    assert got.loc["B", "label_churn"] == 0.0


def test_uncovered_horizon_is_reported(tiny: CleanData) -> None:
    with pytest.raises(HorizonNotCoveredError, match="transactions end on 2024-07-01"):
        check_horizon(tiny.transactions, pd.Timestamp("2024-06-01"), 90)
    snap = build_snapshot(tiny, "2024-06-01", 90)
    assert not snap.labelled
    assert not any(c.startswith("label_") for c in snap.frame.columns)
    with pytest.raises(HorizonNotCoveredError):
        build_snapshot(tiny, "2024-06-01", 90, require_labels=True)


def test_bad_label_parameters_are_rejected(tiny: CleanData) -> None:
    ids = pd.Index(["A"], name="customer_id")
    with pytest.raises(ValueError, match="partial_fraction"):
        compute_labels(tiny.transactions, ids, AS_OF, 90, partial_fraction=1.5)
    with pytest.raises(ValueError, match="horizon_days"):
        compute_labels(tiny.transactions, ids, AS_OF, 0)


def test_snapshot_round_trips_with_metadata(tiny: CleanData, tmp_path) -> None:
    snap = build_snapshot(tiny, AS_OF, 90)
    back = read_snapshot(write_snapshot(snap, tmp_path / "snap.parquet"))
    pd.testing.assert_frame_equal(back.frame, snap.frame)
    assert (back.as_of, back.horizon_days, back.labelled) == (AS_OF, 90, True)
    assert back.families == ("bakery", "fresh")
    assert back.digest == snap.digest
    assert "label_churn" not in snap.feature_columns
    assert "future_spend" not in snap.feature_columns
    assert "recency_days" in snap.feature_columns


def test_snapshot_before_any_transaction_is_an_error(tiny: CleanData) -> None:
    with pytest.raises(ValueError, match="before the first transaction"):
        build_snapshot(tiny, "2023-01-01", 90)
