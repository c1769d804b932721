"""One example request and answer per endpoint, shown on the API page (``/docs``).

Written by hand from a demo store (4,000 simulated customers, the default catalogue), so
a channel developer sees real shapes and magnitudes; ``tests/serving/test_api_page.py``
checks each against its schema.
"""

from __future__ import annotations

from typing import Any

VERSIONS = {"churn": "3", "churn-partial": "2", "propensity": "3", "segments": "2", "clv": "3"}
DECISION_ID = "5f0c2a9e8d7b4c1f9a3e6d2b7c8f1a04"

PROFILE: dict[str, Any] = {
    "customer_id": "17",
    "churn": {
        "probability": 0.62,
        "reasons": ["42 days since the last purchase, 3x the usual gap"],
        "partial_probability": 0.74,
        "partial_reasons": ["42 days since the last purchase, 3x the usual gap"],
    },
    "prob_alive": 0.71,
    "expected_purchases": 1.8,
    "clv": {
        "value_3m": 21.4,
        "value_6m": 38.9,
        "value_12m": 66.2,
        "p10_12m": 31.0,
        "p90_12m": 118.5,
        "model": "learned",
    },
    "value_tier": "gold",
    "rfm": {"recency": 2, "frequency": 4, "monetary": 4, "score": "244"},
    "segment": {
        "name": "weekend wine",
        "id": "weekend_wine",
        "probabilities": {"weekend_wine": 0.81, "fresh_daily": 0.12, "bargain_bulk": 0.07},
    },
    "propensity": {
        "bakery": {"any": 0.55, "first_time": None},
        "wine": {"any": 0.34, "first_time": 0.21},
    },
    "economics": {
        "net_contribution_12m": 148.3,
        "margin_12m": 171.0,
        "returns_12m": 4.2,
        "cost_to_serve_12m": 16.5,
        "contact_cost_12m": 2.0,
        "acquisition_cost": 25.0,
        "costs": "costs.yaml",
    },
    "potential": {"value_12m": 910.0, "share_of_wallet": 0.62, "headroom": 345.8},
    "lifecycle": {"stage": "at risk", "since": "2025-12-31"},
    "cell": {
        "id": "gold/high/weekend_wine",
        "value": "gold",
        "potential": "high",
        "needs": "weekend_wine",
        "strategy": "develop",
    },
    "micro_segment": {"id": "weekend_wine/gold/at_risk/*"},
    "held_out": [],
    "ranking": {"retention": "expected_value", "cross_sell": "expected_value"},
    "model_versions": VERSIONS,
    "as_of": "2025-12-31T00:00:00",
    "cold_start": False,
    "offers": [
        {
            "offer_id": "retain_voucher",
            "campaign": "retention",
            "kind": "retention",
            "family": None,
            "score": 3.96,
            "expected_value": 3.96,
            "uplift": None,
            "priority": False,
            "reasons": ["churn risk 0.62", "12-month value 66.20"],
        },
        {
            "offer_id": "xs_wine_intro",
            "campaign": "cross_sell",
            "kind": "cross_sell",
            "family": "wine",
            "score": 0.6,
            "expected_value": 0.6,
            "uplift": None,
            "priority": False,
            "reasons": ["first-time wine propensity 0.21"],
        },
    ],
    "decision_id": DECISION_ID,
}

SCORED = {
    **PROFILE,
    "customer_id": "new-2931",
    "as_of": None,
    "economics": {k: None for k in PROFILE["economics"]},
    "potential": {"value_12m": None, "share_of_wallet": None, "headroom": None},
    "lifecycle": {"stage": None, "since": None},
    "cell": {k: None for k in ("id", "value", "potential", "needs", "strategy")},
    "micro_segment": {"id": None},
    "cold_start": True,
    "missing_features": ["share_wine", "weekend_share"],
}

FEATURES = {
    "recency_days": 12.0,
    "frequency": 2.0,
    "margin_365d": 20.0,
    "gross_spend": 60.0,
    "monetary_mean": 30.0,
    "btyd_frequency": 1.0,
    "btyd_recency": 20.0,
    "btyd_T": 40.0,
    "btyd_monetary": 30.0,
}

# path -> (request body, 200 answer); /status's answer is free-form
EXAMPLES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "/profile": (
        {"customer_id": "17", "channel": "web", "context": {"basket_families": ["bakery"]}},
        PROFILE,
    ),
    "/profiles": (
        {"customer_ids": ["17", "unknown-1"], "channel": "shop"},
        {"profiles": [PROFILE], "not_found": ["unknown-1"]},
    ),
    "/score": ({"features": FEATURES, "customer_id": "new-2931", "channel": "web"}, SCORED),
    "/feedback": (
        {"decision_id": DECISION_ID, "offer_id": "xs_wine_intro", "outcome": "accepted"},
        {"stored": True, "ts": "2026-01-05T10:31:07.123456+00:00", "duplicate": False},
    ),
    "/events": (
        {
            "events": [
                {
                    "event_id": "pos-7731-0042",
                    "customer_id": "17",
                    "ts": "2026-01-05T10:31:07Z",
                    "amount": 42.5,
                    "family": "bakery",
                    "channel": "shop",
                    "margin": 12.0,
                    "quantity": 3,
                }
            ]
        },
        {"accepted": 1, "duplicates": 0, "customers": 1},
    ),
    "/prospect": (
        {
            "prospects": [
                {
                    "prospect_id": "lead-0193",
                    "attributes": {
                        "age_band": "35-44",
                        "region": "north",
                        "acquisition_channel": "store",
                    },
                },
                {
                    "prospect_id": "lead-0194",
                    "attributes": {
                        "age_band": "18-24",
                        "region": None,
                        "acquisition_channel": "app",
                    },
                },
            ]
        },
        {
            "prospects": [
                {
                    "prospect_id": "lead-0193",
                    "rank": 1,
                    "lookalike": {"score": 0.34, "lift": 1.25},
                    "expected_first_year_value": 118.2,
                    "first_offer": {
                        "family": "household",
                        "probability": 0.61,
                        "lift": 1.18,
                        "offer_id": "xs_household_intro",
                    },
                },
                {
                    "prospect_id": "lead-0194",
                    "rank": 2,
                    "lookalike": {"score": 0.19, "lift": 0.7},
                    "expected_first_year_value": 71.5,
                    "first_offer": {
                        "family": "electronics",
                        "probability": 0.44,
                        "lift": 1.6,
                        "offer_id": "xs_electronics_intro",
                    },
                },
            ],
            "model_versions": {"prospect": "1"},
        },
    ),
    "/status": ({}, None),
}
