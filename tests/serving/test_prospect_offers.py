"""A prospect's first-offer family becomes the catalogue's offer /profile would rank first
for someone without a history (hand-built catalogue, known answers)."""

from __future__ import annotations

from serving.catalogue import default_catalogue, parse_catalogue
from serving.prospect_offers import first_offer_id, first_offer_ids

CATALOGUE = parse_catalogue(
    {
        "version": 1,
        "offers": [
            # wine: EV at p=0.3: intro 0.3*10-1.5 = 1.5, tasting 0.3*6-1 = 0.8, vip 0.3*40-2 = 10
            {"id": "wine_intro", "kind": "cross_sell", "family": "wine", "value": 10.0,
             "cost": 1.5, "first_time_only": True, "eligible": {"tiers": ["bronze"]}},
            {"id": "wine_tasting", "kind": "cross_sell", "family": "wine", "value": 6.0,
             "cost": 1.0, "eligible": {"channels": ["shop"]}},
            {"id": "wine_lapsed", "kind": "cross_sell", "family": "wine", "value": 40.0,
             "cost": 2.0, "eligible": {"stages": ["lapsed"]}},
            # bakery: the only offer is not worth making at p=0.1 (0.1*5-1 < 0)
            {"id": "bakery_intro", "kind": "cross_sell", "family": "bakery", "value": 5.0,
             "cost": 1.0},
            {"id": "toys_new", "kind": "cross_sell", "family": "toys", "value": 9.0,
             "cost": 1.0, "eligible": {"stages": ["new", "active"]}},
            {"id": "keep", "kind": "retention", "save_rate": 0.2, "min_churn": 0.5},
        ],
    }
)  # fmt: skip


def test_the_best_open_offer_of_the_family_is_chosen() -> None:
    # the lapsed-only offer is worth most but a prospect is a new customer: not eligible;
    # tier and channel rules describe customers, so the bronze-only intro is open
    assert first_offer_id(CATALOGUE, "wine", 0.3) == "wine_intro"
    # at p=0.1 the intro is worth 1.0-1.5 < 0 and the tasting 0.6-1 < 0: nothing
    assert first_offer_id(CATALOGUE, "wine", 0.1) is None
    assert first_offer_id(CATALOGUE, "toys", 0.5) == "toys_new"  # "new" in its stages


def test_no_offer_without_a_worthwhile_eligible_one() -> None:
    assert first_offer_id(CATALOGUE, "bakery", 0.1) is None  # expected value <= 0
    assert first_offer_id(CATALOGUE, "bakery", 0.5) == "bakery_intro"
    assert first_offer_id(CATALOGUE, "garden", 0.9) is None  # no offer of the family
    assert first_offer_id(CATALOGUE, None, 0.9) is None
    assert first_offer_id(CATALOGUE, "wine", float("nan")) is None


def test_row_by_row_and_the_default_catalogue() -> None:
    assert first_offer_ids(CATALOGUE, ["wine", "Bakery", "toys"], [0.3, 0.5, 0.0]) == [
        "wine_intro",
        "bakery_intro",  # a family name is read as its slug, as the catalogue does
        None,
    ]
    # the built-in catalogue: wine intro (10*0.5-1.5) beats the tasting (6*0.5-1)
    assert first_offer_id(default_catalogue(), "wine", 0.5) == "xs_wine_intro"
