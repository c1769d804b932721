"""Campaign target lists: ordering, eligibility, top-N and agreement with rank_offers."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from serving.batch.targets import COLUMNS, campaign_targets
from serving.catalogue import Campaign, parse_catalogue
from tests.serving.readback import rank_offers
from training.data.holdout import in_control

NAN = np.nan
CATALOGUE = parse_catalogue(
    {
        "offers": [
            {
                "id": "call",
                "kind": "retention",
                "save_rate": 0.5,
                "cost": 10.0,
                "min_churn": 0.5,
                "eligible": {"tiers": ["platinum", "gold"], "channels": ["phone"]},
            },
            {
                "id": "voucher",
                "kind": "retention",
                "save_rate": 0.1,
                "cost": 1.0,
                "min_churn": 0.3,
                "eligible": {"tiers": ["platinum", "gold", "silver", "bronze"]},
            },
            {
                "id": "xs_bakery",
                "kind": "cross_sell",
                "family": "bakery",
                "value": 10.0,
                "cost": 1.0,
                "first_time_only": True,
            },
            {"id": "xs_wine", "kind": "cross_sell", "family": "wine", "value": 20.0, "cost": 2.0},
            {"id": "xs_garden", "kind": "cross_sell", "family": "garden", "value": 99.0},
            {"id": "up", "kind": "up_sell", "value": 100.0, "accept_rate": 0.9},
        ]
    }
)

PROFILES = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "churn_probability": [0.9, 0.6, 0.4, 0.95, 0.2, NAN],
        "clv_12m": [100.0, 1000.0, 500.0, 800.0, 50.0, 300.0],
        "value_tier": ["silver", "gold", "bronze", "value_destroyer", "silver", "gold"],
        "segment": ["s"] * 6,
        "propensity_any__bakery": [0.5, 0.1, 0.9, 0.9, 0.3, 0.2],
        "propensity_first__bakery": [0.5, NAN, 0.8, 0.9, 0.3, 0.2],
        "fam_count__bakery": [0, 3, 0, 0, 0, 0],
        "propensity_any__wine": [0.1, 0.5, 0.2, 0.9, 0.05, 0.25],
        "propensity_first__wine": [NAN] * 6,
        "fam_count__wine": [2, 1, 1, 1, 1, 1],
    }
)


def test_retention_ordered_by_risk_times_value_among_eligible() -> None:
    out = campaign_targets(PROFILES, "retention", top=10, catalogue=CATALOGUE)
    assert list(out.columns) == COLUMNS
    # scores 0.6*1000=600 (b), 0.4*500=200 (c), 0.9*100=90 (a); d is a value destroyer,
    # e is below every min_churn, f has no churn probability
    assert list(out["customer_id"]) == ["b", "c", "a"]
    assert list(out["rank"]) == [1, 2, 3]
    assert out["score"].tolist() == pytest.approx([600.0, 200.0, 90.0])
    # b: call 0.6*0.5*1000-10 = 290 beats voucher 59; a and c only qualify for voucher
    assert list(out["offer_id"]) == ["call", "voucher", "voucher"]
    assert out["reasons"].iloc[0].startswith("high churn risk 0.60 and gold tier")
    web = campaign_targets(PROFILES, "retention", top=10, catalogue=CATALOGUE, channel="web")
    assert list(web["offer_id"]) == ["voucher", "voucher", "voucher"]


def test_cross_sell_ordered_by_best_expected_value_and_top_n() -> None:
    out = campaign_targets(PROFILES, "cross-sell", top=3, catalogue=CATALOGUE)
    # d: wine 0.9*20-2=16 vs bakery 0.9*10-1=8; c: bakery 7; b: wine 8 (already buys bakery);
    # a: bakery 4; f: wine 3; e: bakery 2 (wine 0.05*20-2 < 0)
    assert list(out["customer_id"]) == ["d", "b", "c"]
    assert list(out["offer_id"]) == ["xs_wine", "xs_wine", "xs_bakery"]
    assert out["score"].tolist() == pytest.approx([16.0, 8.0, 7.0])
    assert out["reasons"].iloc[2].startswith("80% chance to buy bakery for the first time")
    full = campaign_targets(PROFILES, "cross-sell", top=100, catalogue=CATALOGUE)
    assert list(full["customer_id"]) == ["d", "b", "c", "a", "f", "e"]


def test_targets_agree_with_rank_offers() -> None:
    out = campaign_targets(PROFILES, "cross-sell", top=100, catalogue=CATALOGUE)
    ordered = PROFILES.set_index("customer_id").loc[out["customer_id"]].reset_index()
    records = cast("list[dict[str, Any]]", ordered.to_dict("records"))
    open_catalogue = CATALOGUE.model_copy(update={"campaigns": {"cross_sell": Campaign(holdout=0)}})
    for row, record in zip(out.itertuples(), records, strict=True):
        made = rank_offers(record, open_catalogue, now=0)
        best = next(r for r in made if r.kind == "cross_sell")
        assert (best.offer_id, best.expected_value) == (row.offer_id, row.score)
        # with the control groups: a control member is offered nothing of the campaign
        kinds = [r.kind for r in rank_offers(record, CATALOGUE, now=0)]
        assert ("cross_sell" in kinds) == (row.group == "treated")
        assert row.campaign == "cross_sell"
        assert (row.group == "control") == in_control(row.customer_id, "cross_sell", 0.1)


def test_control_members_are_listed_and_marked() -> None:
    held = parse_catalogue(
        {
            **CATALOGUE.model_dump(exclude={"campaigns"}),
            "campaigns": {"cross_sell": {"holdout": 0.5}},
        }
    )
    many = pd.concat(
        [
            PROFILES.assign(customer_id=[f"{c}{k}" for c in PROFILES["customer_id"]])
            for k in range(100)
        ],
        ignore_index=True,
    )
    out = campaign_targets(many, "cross-sell", top=600, catalogue=held)
    assert len(out) == 600  # control members stay on the list: the comparison group
    assert out["group"].tolist() == [
        "control" if in_control(c, "cross_sell", 0.5) else "treated" for c in out["customer_id"]
    ]
    assert 0.4 < (out["group"] == "control").mean() < 0.6
    assert set(out["expected_response"].round(6)) <= {0.8, 0.9, 0.5, 0.25, 0.3, 0.2}
    none = campaign_targets(many, "cross-sell", top=600, catalogue=CATALOGUE.model_copy(
        update={"campaigns": {"cross_sell": Campaign(holdout=0)}}))  # fmt: skip
    assert set(none["group"]) == {"treated"}


def test_bad_arguments_and_empty_input() -> None:
    with pytest.raises(ValueError, match="campaign must be"):
        campaign_targets(PROFILES, "upsell", top=1, catalogue=CATALOGUE)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top must be"):
        campaign_targets(PROFILES, "retention", top=0, catalogue=CATALOGUE)
    empty = campaign_targets(PROFILES.iloc[:0], "retention", top=5, catalogue=CATALOGUE)
    assert list(empty.columns) == COLUMNS and empty.empty
    assert len(campaign_targets(PROFILES, "cross-sell", top=2)) == 2  # default catalogue
