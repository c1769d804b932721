"""Next-best-offer arbitration on hand-built profiles and a hand-built catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from serving.catalogue import CatalogueError, default_catalogue, load_catalogue, parse_catalogue
from serving.contacts import ContactHistory
from serving.offers import OfferContext, arbitrate
from tests.serving.readback import rank_offers
from training.data.simulator.archetypes import FAMILY_TABLE

NOW = datetime(2024, 6, 1, tzinfo=UTC)
NAN = float("nan")

CATALOGUE = parse_catalogue(
    {
        "global_cap": {"max_contacts": 3, "per_days": 30},
        "priority": {"tiers": ["platinum", "gold"], "clv_min": 1000, "churn_min": 0.5},
        "offers": [
            {
                "id": "retain",
                "kind": "retention",
                "save_rate": 0.1,
                "cost": 1.0,
                "min_churn": 0.3,
                "eligible": {"tiers": ["platinum", "gold", "silver"]},
            },
            {
                "id": "xs_bakery",
                "kind": "cross_sell",
                "family": "bakery",
                "value": 10.0,
                "cost": 1.0,
                "first_time_only": True,
                "cap": {"max_contacts": 2, "per_days": 30},
            },
            {"id": "xs_wine", "kind": "cross_sell", "family": "wine", "margin": 10.0},
            {"id": "xs_garden", "kind": "cross_sell", "family": "garden", "value": 50.0},
            {
                "id": "up_club",
                "kind": "up_sell",
                "value": 10.0,
                "accept_rate": 0.5,
                "cost": 1.0,
                "eligible": {
                    "tiers": ["platinum", "gold", "silver"],
                    "channels": ["Call Centre", "web"],
                },
            },
        ],
    }
)


def profile(**overrides: Any) -> dict[str, Any]:
    """Silver, low risk: bakery 4.0, up_club 3.5, wine 2.0; retention not eligible."""
    base: dict[str, Any] = {
        "customer_id": 7,
        "churn_probability": 0.1,
        "clv_12m": 200.0,
        "value_tier": "silver",
        "segment": "regulars",
        "propensity_any__bakery": 0.6,
        "propensity_first__bakery": 0.5,
        "fam_count__bakery": 0,
        "propensity_any__wine": 0.2,
        "propensity_first__wine": NAN,
        "fam_count__wine": 4,
    }
    return base | overrides


def ids(p: dict[str, Any], **kw: Any) -> list[str]:
    return [r.offer_id for r in rank_offers(p, CATALOGUE, now=NOW, **kw)]


def reason(p: dict[str, Any], offer_id: str, **kw: Any) -> str:
    out = arbitrate(p, CATALOGUE, now=NOW, **kw)
    return next(s.reason for s in out.suppressed if s.offer_id == offer_id)


def test_ranked_by_expected_value_with_reasons() -> None:
    ranked = rank_offers(profile(), CATALOGUE, now=NOW)
    assert [(r.offer_id, round(r.score, 9)) for r in ranked] == [
        ("xs_bakery", 4.0),
        ("up_club", 3.5),
        ("xs_wine", 2.0),
    ]
    assert ranked[0].reasons[0] == "50% chance to buy bakery for the first time"
    assert ranked[2].reasons[0] == "20% chance to buy wine"
    assert all(r.score == r.expected_value and not r.priority for r in ranked)


def test_retention_first_for_gold_high_risk_customer() -> None:
    gold = profile(value_tier="gold", churn_probability=0.7, clv_12m=100.0)
    ranked = rank_offers(gold, CATALOGUE, now=NOW)
    assert ranked[0].offer_id == "retain" and ranked[0].priority
    assert ranked[0].expected_value == pytest.approx(0.7 * 0.1 * 100 - 1)
    assert ranked[0].reasons[0] == "high churn risk 0.70 and gold tier"
    # the same risk in silver is not a priority: retention (6.0) just takes its EV place
    silver = rank_offers(profile(churn_probability=0.7, clv_12m=100.0), CATALOGUE, now=NOW)
    assert [r.offer_id for r in silver][:2] == ["retain", "xs_bakery"]
    assert not silver[0].priority
    cheap = rank_offers(profile(churn_probability=0.7, clv_12m=40.0), CATALOGUE, now=NOW)
    assert cheap[0].offer_id == "xs_bakery"  # 0.7*0.1*40-1 = 1.8 < 4
    rich = rank_offers(
        profile(churn_probability=0.7, clv_12m=40.0, value_tier="gold"), CATALOGUE, now=NOW
    )
    assert rich[0].offer_id == "retain" and rich[0].priority


def test_priority_by_clv_threshold() -> None:
    ranked = rank_offers(profile(churn_probability=0.6, clv_12m=2000.0), CATALOGUE, now=NOW)
    assert ranked[0].priority and ranked[0].reasons[0] == "high churn risk 0.60 and CLV 2,000"


def test_first_time_offer_suppressed_when_already_buying() -> None:
    p = profile(fam_count__bakery=2, propensity_first__bakery=NAN)
    assert "xs_bakery" not in ids(p)
    assert reason(p, "xs_bakery") == "already buys bakery"


def test_basket_family_suppresses_cross_sell() -> None:
    ctx = OfferContext(basket_families=frozenset({"Bakery"}))
    assert ids(profile(), context=ctx) == ["up_club", "xs_wine"]
    assert reason(profile(), "xs_bakery", context=ctx) == "bakery already in today's basket"


def test_excluded_offers_suppressed() -> None:
    ctx = OfferContext(exclude_offers=frozenset({"up_club"}))
    assert ids(profile(), context=ctx) == ["xs_bakery", "xs_wine"]
    assert reason(profile(), "up_club", context=ctx) == "excluded by the request"


def test_contact_cap_reached_suppresses() -> None:
    recent = [
        {
            "customer_id": "7",
            "offer_id": "xs_bakery",
            "channel": "web",
            "outcome": "ignored",
            "ts": NOW - timedelta(days=d),
        }
        for d in (1, 10)
    ]
    old = {"customer_id": 7, "offer_id": "xs_bakery", "ts": "2024-01-01T00:00:00"}
    one = ContactHistory.from_records([recent[0], old])
    assert "xs_bakery" in ids(profile(), contacts=one)
    two = ContactHistory.from_records(recent)
    assert "xs_bakery" not in ids(profile(), contacts=two)
    assert reason(profile(), "xs_bakery", contacts=two).startswith("contact cap reached")
    assert ids(profile(customer_id=8), contacts=two) == ["xs_bakery", "up_club", "xs_wine"]
    two.add(7, "xs_wine", NOW - timedelta(hours=1))  # third contact: the global cap of 3
    assert ids(profile(), contacts=two) == []
    assert reason(profile(), "up_club", contacts=two) == "global contact cap reached"


def test_channel_rule() -> None:
    assert "up_club" in ids(profile())  # no channel given: channel rules do not apply
    assert "up_club" in ids(profile(), context=OfferContext(channel="call-centre"))
    assert "up_club" not in ids(profile(), context=OfferContext(channel="store"))
    assert reason(profile(), "up_club", context=OfferContext(channel="fax")) == (
        "channel fax not allowed"
    )
    assert "xs_wine" in ids(profile(), context=OfferContext(channel="fax"))  # no channel rule


def test_negative_expected_value_not_offered() -> None:
    p = profile(propensity_first__bakery=0.05)  # 0.05 * 10 - 1 < 0
    assert "xs_bakery" not in ids(p)
    assert reason(p, "xs_bakery") == "expected value -0.50 ≤ 0"


def test_unknown_family_and_missing_values_never_crash() -> None:
    assert reason(profile(), "xs_garden") == "unknown family garden"
    p = profile(
        propensity_any__wine=None,
        churn_probability=NAN,
        clv_12m=None,
        value_tier=None,
        segment=None,
    )
    assert reason(p, "xs_wine") == "no any propensity for wine"
    assert reason(p, "retain") == "tier unknown not allowed"
    assert ids(p) == ["xs_bakery"]


def test_default_catalogue_value_destroyers_get_no_up_sell() -> None:
    cat = default_catalogue()
    p = profile(value_tier="value_destroyer", churn_probability=0.0)
    out = arbitrate(p, cat, now=NOW)
    assert all(r.kind != "up_sell" for r in out.offered)
    for s in out.suppressed:
        if s.kind == "up_sell":
            assert s.reason == "tier value_destroyer not allowed"
    silver = rank_offers(profile(churn_probability=0.0), cat, OfferContext("web"), now=NOW)
    assert any(r.kind == "up_sell" for r in silver)


def test_default_catalogue_uses_simulator_families() -> None:
    families = {o.family for o in default_catalogue().offers if o.family}
    assert families <= {f[0] for f in FAMILY_TABLE}
    assert {o.kind for o in default_catalogue().offers} == {"retention", "cross_sell", "up_sell"}


def test_bad_catalogue_names_offer_and_field(tmp_path: Path) -> None:
    path = tmp_path / "offers.yaml"
    path.write_text(
        "offers:\n"
        "  - {id: ok, kind: retention, save_rate: 0.2}\n"
        "  - {id: xs_bad, kind: cross_sell, family: bakery, value: lots}\n"
    )
    with pytest.raises(CatalogueError, match=r"offer 'xs_bad' \(offers\[1\]\), field 'value'"):
        load_catalogue(path)
    bad = [
        ({"id": "x", "kind": "cross_sell", "value": 1}, "offer 'x'.*field 'family' is required"),
        (
            {"id": "x", "kind": "up_sell", "value": 1, "accept_rate": 0.1, "colour": "red"},
            "offer 'x'.*field 'colour': Extra inputs",
        ),
        (
            {"id": "x", "kind": "retention", "save_rate": 0.1, "eligible": {"tiers": ["gld"]}},
            r"offer 'x'.*field 'eligible.tiers\[0\]'",
        ),
        ({"id": "x", "kind": "retention", "save_rate": 1.5}, "offer 'x'.*field 'save_rate'"),
        (
            {"id": "x", "kind": "up_sell", "value": 1, "accept_rate": 0.1, "family": "wine"},
            "offer 'x'.*field 'family' is only for cross_sell",
        ),
        ({"kind": "retention", "save_rate": 0.1}, r"offers\[0\] \(no id\), field 'id'"),
    ]
    for offer, pattern in bad:
        with pytest.raises(CatalogueError, match=pattern):
            parse_catalogue({"offers": [offer]})
    twice = {"id": "r", "kind": "retention", "save_rate": 0.1}
    with pytest.raises(CatalogueError, match="offer id 'r' appears twice"):
        parse_catalogue({"offers": [twice, twice]})
    path.write_text("offers: [\n")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue(path)
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")


def test_contact_history_counts() -> None:
    h = ContactHistory.from_records(
        [
            {"customer_id": 1, "offer_id": "a", "ts": "2024-05-30T00:00:00Z"},
            {"customer_id": 1, "offer_id": "b", "ts": datetime(2024, 5, 20)},
            {"customer_id": 1, "offer_id": "a", "ts": 0.0},
        ]
    )
    assert h.count("1", "a", "2024-05-01") == 1
    assert h.count(1, None, "2024-05-01") == 2
    assert h.count(1, None, 0) == 3 and len(h) == 3
    assert h.count(2, "a", 0) == 0 and h.count(1, "zzz", 0) == 0
    with pytest.raises(ValueError, match="record 0 has no 'ts'"):
        ContactHistory.from_records([{"customer_id": 1, "offer_id": "a"}])
