"""The demo's customer-economics block on hand-built tables with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring.demo_economics import (
    describe,
    figures,
    pick_customers,
    share_of_wallet_truth,
    write_costs,
    write_prospects,
)
from training.economics.costs import load_costs


def _profiles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "net_contribution_12m": [900.0, 50.0, 20.0, -5.0],
            "potential_headroom": [10.0, 400.0, 500.0, np.nan],
            "churn_partial_probability": [0.9, 0.1, 0.2, np.nan],
        }
    )


def test_three_distinct_telling_customers() -> None:
    # a: the largest net contribution; c: the largest headroom; the highest partial-churn
    # risk is a again, so the next one (c is taken too): b
    assert pick_customers(_profiles()) == [
        ("a", "largest net contribution"),
        ("c", "largest headroom"),
        ("b", "highest partial-churn risk"),
    ]
    # a store without the optional models' columns: what there is
    assert pick_customers(_profiles()[["customer_id", "net_contribution_12m"]]) == [
        ("a", "largest net contribution")
    ]


def test_share_of_wallet_against_the_truth_on_full_year_buyers() -> None:
    n = 40
    spend = np.linspace(100, 1000, n)
    wallet = np.full(n, 2000.0)  # true share = spend / 2000: rising with the index
    profiles = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(n)],
            "tenure_days": [400] * (n - 2) + [100, 100],  # the last two: not a full year
            "spend_365d": spend,
            "share_of_wallet": spend / 2000 + np.r_[np.zeros(n - 2), [-1.0, -1.0]],
        }
    )
    truth = pd.DataFrame({"customer_id": list(range(n)), "true_wallet_12m": wallet})
    rho, rows = share_of_wallet_truth(profiles, truth)
    assert rows == n - 2 and rho == pytest.approx(1.0)
    reversed_ = profiles.assign(share_of_wallet=1 - profiles["share_of_wallet"])
    assert share_of_wallet_truth(reversed_, truth)[0] == pytest.approx(-1.0)
    assert share_of_wallet_truth(profiles.drop(columns="share_of_wallet"), truth) == (None, 0)
    assert share_of_wallet_truth(profiles.head(5), truth) == (None, 5)


def test_prospects_file_has_attributes_only(tmp_path: Path) -> None:
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "signup_date": pd.to_datetime(["2025-01-02", "2025-03-01", "2024-05-05"]),
            "age_band": ["25-34", "65+", "35-44"],
            "region": ["north", "west", "east"],
        }
    )
    path = write_prospects(customers, tmp_path / "p.csv", n=2)
    leads = pd.read_csv(path)
    assert leads.columns.tolist() == ["prospect_id", "age_band", "region"]
    assert leads["prospect_id"].tolist() == ["lead-1", "lead-2"]  # the latest sign-ups


def test_the_demo_costs_are_a_valid_costs_yaml(tmp_path: Path) -> None:
    write_costs(tmp_path / "a")
    costs = load_costs(tmp_path / "a")
    assert costs.source is not None and costs.per_return == 4.0


def test_one_line_per_customer_from_the_profile_answer() -> None:
    answer = {
        "customer_id": "7",
        "economics": {"net_contribution_12m": 123.4, "cost_to_serve_12m": 6.0},
        "potential": {"share_of_wallet": 0.25, "headroom": 300.0, "value_12m": 400.0},
        "cell": {"id": "gold/high/weekend_wine", "strategy": "develop"},
        "lifecycle": {"stage": "active", "since": "2025-01-01"},
        "churn": {"probability": 0.1, "partial_probability": 0.42},
    }
    f = figures(answer)
    assert f["net_contribution_12m"] == 123.4 and f["partial_churn"] == 0.42
    assert describe(f, "largest headroom") == (
        "customer 7 (largest headroom): net contribution 123 (cost to serve 6), share of "
        "wallet 25%, headroom 300; cell gold/high/weekend_wine -> develop; active; partial "
        "churn 0.42"
    )
