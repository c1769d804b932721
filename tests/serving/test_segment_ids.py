"""Offers select segments by their stable id; /profile shows the id beside the name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from serving.catalogue import CatalogueError, check_segments, parse_catalogue
from serving.offers import arbitrate
from serving.profile import build_profile
from serving.schemas import Segment

NOW = datetime(2024, 6, 1, tzinfo=UTC)
CATALOGUE = parse_catalogue(
    {
        "offers": [
            {
                "id": "wine_club",
                "kind": "up_sell",
                "value": 10.0,
                "accept_rate": 0.5,
                "eligible": {"segments": ["Weekend Wine", "online_electronics"]},
            }
        ]
    }
)


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer_id": "7",
        "churn_probability": 0.1,
        "value_tier": "silver",
        "segment": "weekend wine",
        "segment_id": "weekend_wine",
        "segment_prob__weekend_wine": 0.8,
        "segment_prob__online_electronics": 0.2,
    }
    return base | overrides


def offered(profile: dict[str, Any]) -> list[str]:
    return [r.offer_id for r in arbitrate(profile, CATALOGUE, now=NOW).offered]


def test_catalogue_segments_are_ids_and_names_are_read_as_their_ids() -> None:
    assert CATALOGUE.offers[0].eligible.segments == {"weekend_wine", "online_electronics"}


def test_offers_follow_the_segment_id_not_the_display_name() -> None:
    assert offered(row()) == ["wine_club"]
    # a retrain kept the id and the name drifted: still eligible
    assert offered(row(segment="wine lovers")) == ["wine_club"]
    # a name that slugs to an allowed id does not make another segment eligible
    other = row(segment="weekend wine", segment_id="weekend_wine_2")
    assert offered(other) == []
    reason = arbitrate(other, CATALOGUE, now=NOW).suppressed[0].reason
    assert reason == "segment weekend_wine_2 not allowed"
    assert offered(row(segment="low_activity", segment_id="low_activity")) == []


def test_a_store_written_before_segment_ids_matches_by_the_names_slug() -> None:
    old = row()
    del old["segment_id"]
    assert offered(old) == ["wine_club"]
    assert build_profile(old)["segment"]["id"] == "weekend_wine"


def test_profile_answer_has_the_id_beside_the_name() -> None:
    segment = build_profile(row())["segment"]
    assert segment == {
        "name": "weekend wine",
        "id": "weekend_wine",
        "probabilities": {"weekend_wine": 0.8, "online_electronics": 0.2},
    }
    Segment.model_validate(segment)
    assert build_profile(row(segment=None, segment_id=None))["segment"]["id"] is None


def test_check_segments_names_offer_segment_and_file() -> None:
    check_segments(CATALOGUE, ["weekend_wine", "online_electronics"], "offers.yaml")
    with pytest.raises(CatalogueError) as err:
        check_segments(CATALOGUE, ["weekend_wine", "low_activity"], "my/offers.yaml", "v3")
    assert str(err.value) == (
        "offer catalogue my/offers.yaml: offer 'wine_club' names segment "
        "'online_electronics'; v3 has no such segment (its segment ids: low_activity, "
        "weekend_wine). Change eligible.segments in my/offers.yaml to ids the segments "
        "model has"
    )
