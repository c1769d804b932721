"""The BentoML service through its ASGI app: answers, bad input, auth, logs, hot swap."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from serving.schemas import ProfileAnswer, ProfilesAnswer
from serving.settings import get_service_settings
from tests.serving.conftest import HISTORY
from tests.serving.conftest import known_id as _known_id
from tests.serving.readback import read_jsonl


def test_profile_returns_the_whole_customer_view(client: TestClient, service_env: Path) -> None:
    cid = _known_id(service_env)
    r = client.post("/profile", json={"customer_id": cid, "channel": "online"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["model_versions"]) == {"churn", "propensity", "segments", "clv"}
    assert 0 <= body["churn"]["probability"] <= 1
    assert isinstance(body["churn"]["reasons"], list)
    assert body["value_tier"] in {"platinum", "gold", "silver", "bronze", "value_destroyer"}
    assert set(body["rfm"]) == {"recency", "frequency", "monetary", "score"}
    probs = body["segment"]["probabilities"]
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
    assert len(body["propensity"]) == 6
    assert body["clv"]["p10_12m"] <= body["clv"]["value_12m"] <= body["clv"]["p90_12m"]
    assert body["cold_start"] is False
    scores = [o["score"] for o in body["offers"] if not o["priority"]]
    assert scores == sorted(scores, reverse=True)


def test_context_changes_the_offers(client: TestClient, service_env: Path) -> None:
    cid = _known_id(service_env)
    plain = client.post("/profile", json={"customer_id": cid}).json()["offers"]
    assert plain, "the test customer should get at least one offer"
    top = plain[0]["offer_id"]
    excluded = client.post(
        "/profile", json={"customer_id": cid, "context": {"exclude_offers": [top]}}
    ).json()["offers"]
    assert top not in [o["offer_id"] for o in excluded]
    cross = [o for o in plain if o["kind"] == "cross_sell"]
    if cross:
        fam = cross[0]["family"]
        basket = client.post(
            "/profile", json={"customer_id": cid, "context": {"basket_families": [fam]}}
        ).json()["offers"]
        assert fam not in [o["family"] for o in basket if o["kind"] == "cross_sell"]


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/profile", {"customer_id": "no-such-customer"}, 404, "not in the online store"),
        ("/profile", {"customer_id": "1", "colour": "red"}, 400, "colour"),
        ("/profile", {"customer_id": 17.5}, 400, "customer_id"),
        ("/profile", {}, 400, "customer_id"),
        ("/profiles", {"customer_ids": []}, 400, "customer_ids"),
        ("/profiles", {"customer_ids": [str(i) for i in range(1001)]}, 400, "at most 1000"),
        ("/score", {"features": {"recency_days": "NaN"}}, 400, "recency_days"),
        ("/score", {"features": {"recency_dayz": 3.0}}, 400, "recency_dayz"),
        (
            "/feedback",
            {"customer_id": "1", "offer_id": "x", "channel": "web", "outcome": "maybe"},
            400,
            "outcome",
        ),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    client: TestClient, path: str, body: dict, status: int, needle: str
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert needle in r.text


def test_malformed_json_and_nan_are_400(client: TestClient) -> None:
    r = client.post(
        "/profile", content=b'{"customer_id": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    r = client.post(
        "/score",
        content=b'{"features": {"recency_days": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400


def test_oversized_body_is_413(client: TestClient) -> None:
    big = {"customer_ids": ["x" * 100] * 20_000}
    r = client.post(
        "/profiles", content=json.dumps(big).encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_answers_follow_the_documented_schema(client: TestClient, service_env: Path) -> None:
    """What the OpenAPI page documents is what the endpoints send (extra fields fail)."""
    cid = _known_id(service_env)
    ProfileAnswer.model_validate(client.post("/profile", json={"customer_id": cid}).json())
    many = client.post("/profiles", json={"customer_ids": [cid, "nobody"]}).json()
    ProfilesAnswer.model_validate(many)
    spec = client.get("/docs.json").json()
    schema = spec["paths"]["/profile"]["post"]["responses"]["200"]["content"]
    assert "ProfileAnswer" in json.dumps(schema)


def test_batch_answers_equal_single_answers(client: TestClient, service_env: Path) -> None:
    import pandas as pd

    ids = pd.read_parquet(service_env / "store" / "profiles.parquet")["customer_id"]
    ids = ids.astype(str).tolist()[:200]
    batch = client.post("/profiles", json={"customer_ids": ids, "channel": "web"}).json()
    single = [
        client.post("/profile", json={"customer_id": c, "channel": "web"}).json() for c in ids
    ]
    # the same answers, each with its own decision
    decisions = [p.pop("decision_id") for p in [*batch["profiles"], *single]]
    assert len(set(decisions)) == 2 * len(ids)
    assert batch["profiles"] == single
    assert sum(len(p["offers"]) for p in single) > 0
    assert client.post("/status", json={}).json()["answers_prepared"] >= len(ids)


def test_batch_lists_unknown_ids_apart(client: TestClient, service_env: Path) -> None:
    cid = _known_id(service_env)
    r = client.post("/profiles", json={"customer_ids": [cid, "nobody"]})
    assert r.status_code == 200
    assert [p["customer_id"] for p in r.json()["profiles"]] == [cid]
    assert r.json()["not_found"] == ["nobody"]


def test_cold_start_scores_a_partial_payload(client: TestClient) -> None:
    r = client.post("/score", json={"features": {**HISTORY, "attr_region": "north"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["cold_start"] is True
    assert 0 <= body["churn"]["probability"] <= 1
    assert "return_rate" in body["missing_features"]  # left out: named in the answer
    assert not set(HISTORY) & set(body["missing_features"])


def test_requests_and_feedback_are_logged_durably(client: TestClient, service_env: Path) -> None:
    cid = _known_id(service_env)

    def logged() -> list[dict[str, Any]]:
        return [
            x
            for x in read_jsonl(service_env / "requests")
            if x["customer_id"] == cid and x["endpoint"] == "/profile"
        ]

    before = len(logged())  # earlier tests asked for this customer too
    client.post("/profile", json={"customer_id": cid})
    r = client.post(
        "/feedback",
        json={
            "customer_id": cid,
            "offer_id": "xs_wine_intro",
            "channel": "web",
            "outcome": "accepted",
        },
    )
    assert r.status_code == 200
    feedback = read_jsonl(service_env / "feedback")
    assert feedback[-1]["offer_id"] == "xs_wine_intro"
    deadline = time.time() + 5
    while time.time() < deadline and len(logged()) == before:  # the writer batches
        time.sleep(0.05)
    record = logged()[-1]
    assert record["endpoint"] == "/profile" and record["latency_ms"] > 0
    assert "churn_probability" in record["outputs"] and "recency_days" in record["features"]
    assert not any(k.startswith("attr_") for k in record["features"])  # no personal data
    assert set(record["versions"]) == {"churn", "propensity", "segments", "clv"}


def test_api_key_guards_endpoints_but_not_health(
    service_env: Path, asgi_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CINTEL_API_KEY", "s3cret")
    get_service_settings.cache_clear()
    with TestClient(app=asgi_app) as c:
        assert c.post("/profile", json={"customer_id": "1"}).status_code == 401
        wrong = c.post("/profile", json={"customer_id": "1"}, headers={"x-api-key": "nope"})
        assert wrong.status_code == 401
        assert c.get("/livez").status_code == 200
        ok = c.post(
            "/profile",
            json={"customer_id": _known_id(service_env)},
            headers={"x-api-key": "s3cret"},
        )
        assert ok.status_code == 200


def test_profile_and_score_answers_are_recorded_as_decisions(
    client: TestClient, service_env: Path
) -> None:
    cid = _known_id(service_env)
    answer = client.post("/profile", json={"customer_id": cid, "channel": "web"}).json()
    scored = client.post(
        "/score", json={"customer_id": "cold-rec", "features": HISTORY, "channel": "phone"}
    ).json()
    anonymous = client.post("/score", json={"features": HISTORY}).json()
    records = {r["decision_id"]: r for r in read_jsonl(service_env / "decisions")}
    profile = records[answer["decision_id"]]
    assert (profile["endpoint"], profile["customer_id"], profile["channel"]) == (
        "/profile",
        cid,
        "web",
    )
    assert profile["store_as_of"] is not None
    assert profile["versions"] == answer["model_versions"]
    assert [o["offer_id"] for o in profile["offers"]] == [o["offer_id"] for o in answer["offers"]]
    assert set(profile["assignment"]) == {"retention", "up_sell", "cross_sell"}
    cold = records[scored["decision_id"]]
    assert (cold["endpoint"], cold["customer_id"], cold["store_as_of"]) == (
        "/score",
        "cold-rec",
        None,
    )
    assert cold["versions"] == scored["model_versions"]
    assert records[anonymous["decision_id"]]["customer_id"] is None
    assert anonymous["held_out"] == []
    shown = [o["offer_id"] for o in scored["offers"]]
    if shown:  # feedback on a /score decision
        r = client.post(
            "/feedback",
            json={"decision_id": scored["decision_id"], "offer_id": shown[0], "outcome": "ignored"},
        )
        assert r.status_code == 200 and r.json()["stored"] is True
