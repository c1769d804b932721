"""Reason codes: words from the customer's own values, only for drivers that raise risk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.training.churn.conftest import frame_snapshot
from training.churn import ChurnModel, reasons
from training.churn.reasons import ReasonTable, describe, explain
from training.churn.templates import DERIVED, TEMPLATES

TABLE = ReasonTable(
    labels={"weekend_share": "share of weekend shopping", "attr_region": "region"},
    medians={"weekend_share": 0.3, "frequency": 4.0, "recency_days": 30.0},
    templates=TEMPLATES,
    derived=DERIVED,
)


def test_templates_use_the_customers_own_values() -> None:
    row = {
        "recency_days": 74.0,
        "ipt_mean_days": 12.0,
        "spend_last_90d": 40.0,
        "spend_prev_90d": 100.0,
        "return_rate": 0.3,
        "frequency": 1.0,
    }
    assert describe("recency_days", row, TABLE) == "no purchase for 74 days, usual gap 12"
    assert describe("spend_trend", row, TABLE) == "spend down 60% over the last 90 days"
    assert describe("return_rate", row, TABLE) == "returns 30% of purchases"
    assert describe("frequency", row, TABLE) == "only bought 1 time"
    assert describe("frequency", {**row, "frequency": 3.0}, TABLE) == "only bought 3 times"


def test_templates_fall_back_when_a_value_is_missing_or_a_condition_fails() -> None:
    row = {
        "recency_days": 200.0,
        "ipt_mean_days": np.nan,
        "spend_last_90d": 0.0,
        "spend_prev_90d": 0.0,
        "n_purchase_days": 1.0,
    }
    assert describe("recency_days", row, TABLE) == "no purchase for 200 days"
    assert describe("spend_trend", row, TABLE) == "nothing bought in the last 90 days"
    assert describe("ipt_mean_days", row, TABLE) == "all purchases on a single day"


def test_generic_sentences_for_other_features() -> None:
    assert describe("weekend_share", {"weekend_share": 0.9}, TABLE) == (
        "share of weekend shopping is high"
    )
    assert describe("weekend_share", {"weekend_share": 0.1}, TABLE) == (
        "share of weekend shopping is low"
    )
    assert describe("attr_region", {"attr_region": "north"}, TABLE) == "region: north"
    assert describe("weekend_share", {"weekend_share": np.nan}, TABLE) is None


def test_only_drivers_that_push_risk_up_become_reasons() -> None:
    features = pd.DataFrame({"weekend_share": [0.9, 0.9], "attr_region": ["north", "north"]})
    contribs = np.array([[0.5, 0.2, -1.0], [-0.5, -0.2, 2.0]])  # last column: bias
    out = explain(contribs, features, ["weekend_share", "attr_region"], TABLE, top=3)
    assert out == [["share of weekend shopping is high", "region: north"], []]


def test_long_lapsed_customer_is_told_about_recency(fitted: ChurnModel) -> None:
    customers = frame_snapshot(20, seed=9).frame.assign(recency_days=280.0)
    for texts in reasons(fitted, customers, top=3):
        assert 1 <= len(texts) <= 3
        assert texts[0].startswith("no purchase for 280 days")


def test_recent_customer_gets_no_recency_reason(fitted: ChurnModel) -> None:
    customers = frame_snapshot(20, seed=9).frame.assign(recency_days=3.0)
    for texts in reasons(fitted, customers):
        assert not any("no purchase" in t for t in texts)


def test_predict_frame_joins_reasons_with_a_semicolon(fitted: ChurnModel) -> None:
    customers = frame_snapshot(5, seed=9).frame.assign(recency_days=280.0)
    frame = fitted.predict_frame(customers)
    expected = ["; ".join(r) for r in reasons(fitted, customers)]
    assert frame["churn_reasons"].tolist() == expected
    assert frame["customer_id"].tolist() == customers["customer_id"].tolist()
