"""rfm_summary by hand on a tiny log, and against the summary shipped with lifetimes."""

from __future__ import annotations

from importlib import resources

import pandas as pd
import pytest

from training.clv import rfm_summary


def test_rfm_summary_by_hand() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 3, 3],
            "ts": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 18:00",  # same day: one purchase of 15
                    "2024-01-08 00:00",
                    "2024-01-15 00:00",
                    "2024-01-10 00:00",
                    "2024-01-05 00:00",
                    "2024-02-01 00:00",  # after the end: ignored
                ]
            ),
            "amount": [10.0, 5.0, 20.0, -4.0, 7.0, 3.0, 99.0],
        }
    )
    got = rfm_summary(tx, "2024-01-29", unit_days=7)
    expected = pd.DataFrame(
        {
            "frequency": [2, 0, 0],
            "recency": [2.0, 0.0, 0.0],
            "T": [4.0, 19 / 7, 24 / 7],
            "monetary_value": [8.0, 0.0, 0.0],
        },
        index=pd.Index([1, 2, 3], name="customer_id"),
    )
    pd.testing.assert_frame_equal(got, expected)


def test_cdnow_summary_matches_hardies_files(cdnow_summary: pd.DataFrame) -> None:
    pytest.importorskip("lifetimes")
    folder = resources.files("lifetimes") / "datasets"
    with (folder / "cdnow_customers_summary.csv").open() as fh:
        rft = pd.read_csv(fh, index_col="ID")
    with (folder / "cdnow_customers_summary_with_transactions.csv").open() as fh:
        spend = pd.read_csv(fh, index_col="ID")
    s = cdnow_summary
    assert (s["frequency"].to_numpy() == rft["frequency"].to_numpy()).all()
    assert (s["recency"].round(2).to_numpy() == rft["recency"].to_numpy()).all()
    assert (s["T"].round(2).to_numpy() == rft["T"].to_numpy()).all()
    assert (s["monetary_value"] - spend["zbar"].to_numpy()).abs().max() <= 0.005 + 1e-9
