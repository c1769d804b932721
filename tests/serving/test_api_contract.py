"""What a client sees on bad input: 4xx never 5xx, one error shape, a true OpenAPI
document, the /docs page, and an app log without bodies or customer ids (issue 12)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from serving.settings import get_service_settings
from tests.serving.conftest import (
    CANARY_EMAIL,
    CANARY_ID,
    HISTORY,
    known_id,
    send_canary_requests,
)

ENDPOINTS = ("/profile", "/profiles", "/score", "/feedback", "/events", "/status")


def _is_error(r: Any) -> dict[str, Any]:
    """The body of an error answer, asserted to be the one documented shape."""
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict) and set(body) == {"error", "field"}, body
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.mark.parametrize("path", ENDPOINTS)
def test_multipart_without_boundary_is_415(client: TestClient, path: str) -> None:
    r = client.post(path, content=b"{}", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 415, r.text
    assert "application/json" in _is_error(r)["error"]


def test_text_plain_is_415_and_no_content_type_is_read_as_json(
    client: TestClient, service_env: Path
) -> None:
    body = json.dumps({"customer_id": known_id(service_env)}).encode()
    plain = client.post("/profile", content=body, headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    _is_error(plain)
    bare = client.post("/profile", content=body)  # no Content-Type header at all
    assert "content-type" not in bare.request.headers
    assert bare.status_code == 200, bare.text
    charset = client.post(
        "/profile", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert charset.status_code == 200


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the guard must count the chunks
        yield b'{"customer_ids": ['
        for _ in range(20):
            yield b'"' + b"x" * 100_000 + b'",'
        yield b'"y"]}'

    r = client.post("/profiles", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413, r.text
    assert "CINTEL_MAX_BODY_BYTES" in _is_error(r)["error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/profile", {"customer_id": "nobody"}, 404, "customer_id"),
        ("/profile", {"customer_id": 17.5}, 400, "customer_id"),
        ("/profile", {"customer_id": "1", "context": {"basket_families": [""]}}, 400,
         "context.basket_families[0]"),
        ("/profile", {}, 400, "customer_id"),
        ("/profiles", {"customer_ids": [str(i) for i in range(1001)]}, 400, "customer_ids"),
        ("/score", {"features": {"recency_dayz": 3.0}}, 400, "features"),
        ("/feedback", {"customer_id": "1"}, 400, "offer_id"),
    ],
)  # fmt: skip
def test_every_error_has_one_shape_naming_the_field(
    client: TestClient, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert _is_error(r)["field"] == field


def test_malformed_json_and_unknown_route_use_the_error_shape(client: TestClient) -> None:
    bad = client.post("/profile", content=b'{"customer_id": ')
    assert bad.status_code == 400 and _is_error(bad)["field"] is None
    wrong_method = client.get("/profile")
    assert wrong_method.status_code == 405
    _is_error(wrong_method)


def test_docs_is_the_api_page(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "swagger" in r.text.lower()


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref") or (node.get("allOf") or [{}])[0].get("$ref")
    if ref is None:
        return node
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_openapi_documents_what_the_endpoints_send(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    for path in ENDPOINTS:
        post = spec["paths"][path]["post"]
        assert post["requestBody"]["required"] is (path != "/status"), path
        responses = post["responses"]
        for status in ("400", "413", "415", "500"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert _resolve(spec, schema)["title"] == "ErrorAnswer", (path, status)
    assert "404" in spec["paths"]["/profile"]["post"]["responses"]
    error = spec["components"]["schemas"]["ErrorAnswer"]
    assert error["type"] == "object" and error["properties"]["field"]["nullable"] is True
    request = spec["components"]["schemas"]["ProfileRequest"]["properties"]
    assert request["channel"]["nullable"] is True
    assert request["context"]["nullable"] is True
    churn = spec["components"]["schemas"]["Churn"]["properties"]
    assert churn["probability"]["nullable"] is True  # answers send null for unknown scores
    for body in ("FeedbackByDecision", "FeedbackByCustomer"):
        offer = spec["components"]["schemas"][body]["properties"]["offer_id"]
        assert "xs_wine_intro" in offer["enum"]
    text = json.dumps(spec)
    for name in {r.rsplit("/", 1)[1] for r in _refs(spec)}:
        assert name in spec["components"]["schemas"], f"dangling $ref {name}"
    assert '"const"' not in text and "propertyNames" not in text  # not OpenAPI 3.0


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_channel_null_is_accepted_as_documented(client: TestClient, service_env: Path) -> None:
    r = client.post("/profile", json={"customer_id": known_id(service_env), "channel": None})
    assert r.status_code == 200, r.text


# ---- the app log ------------------------------------------------------------------------
def _service_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged (the test client's own httpx lines name the URL it called)."""
    return "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith("httpx")
    )


def test_rejected_requests_log_one_line_without_body_or_ids(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        statuses = send_canary_requests(client)
    assert all(400 <= s < 500 for s in statuses), statuses
    lines = [r for r in caplog.records if r.name == "cintel.rejected"]
    assert len(lines) == len(statuses)
    assert lines[0].getMessage() == "rejected POST /profile 404 field=customer_id"
    assert lines[1].getMessage() == "rejected POST /profile 400 field=(not in the schema)"
    text = _service_log(caplog)
    assert "bentoml.access" not in {r.name for r in caplog.records}  # BentoML's line is off
    assert CANARY_ID not in text and CANARY_EMAIL not in text
    assert not [r for r in caplog.records if r.exc_info], "no traceback for client errors"


def test_full_log_mode_adds_the_message(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CINTEL_LOG_REJECTED", "full")
    get_service_settings.cache_clear()
    with caplog.at_level(logging.DEBUG):
        client.post("/profile", json={"customer_id": CANARY_ID})
    (line,) = [r.getMessage() for r in caplog.records if r.name == "cintel.rejected"]
    assert line.startswith("rejected POST /profile 404 field=customer_id: ") and CANARY_ID in line
    get_service_settings.cache_clear()


# ---- /score and /feedback ----------------------------------------------------------------
def test_score_refuses_a_payload_without_the_required_features(client: TestClient) -> None:
    partial = {k: v for k, v in HISTORY.items() if k not in ("margin_365d", "btyd_T")}
    r = client.post("/score", json={"features": partial})
    assert r.status_code == 400
    body = _is_error(r)
    assert body["field"] == "features"
    assert "margin_365d (value tier)" in body["error"] and "btyd_T" in body["error"]
    one = client.post("/score", json={"features": {**HISTORY, "margin_365d": None}})
    assert one.status_code == 400 and _is_error(one)["field"] == "features.margin_365d"


def test_score_refuses_numbers_beyond_the_models_range(client: TestClient) -> None:
    """Before, 1e300 was cast to float32 infinity with an overflow warning and scored."""
    r = client.post("/score", json={"features": {**HISTORY, "frequency": 1e300}})
    assert r.status_code == 400, r.text
    body = _is_error(r)
    assert body["field"] == "features.frequency" and "range" in body["error"]
    word = client.post("/score", json={"features": {**HISTORY, "frequency": "many"}})
    assert word.status_code == 400 and _is_error(word)["field"] == "features.frequency"


def test_score_tier_comes_from_the_given_margin_and_names_what_was_missing(
    client: TestClient,
) -> None:
    """Before, a payload without margin_365d was a value destroyer (margin filled as 0)
    beside a positive CLV, and the answer did not say anything was missing."""
    r = client.post("/score", json={"features": {**HISTORY, "margin_365d": 500.0}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["value_tier"] != "value_destroyer"
    assert "margin_365d" not in body["missing_features"]
    assert body["missing_features"] == sorted(body["missing_features"])
    assert "spend_trend" in body["missing_features"]


def test_score_takes_a_customer_without_purchases(client: TestClient) -> None:
    """For frequency 0, the features a snapshot leaves empty may be null."""
    none = {
        "frequency": 0.0, "margin_365d": 0.0, "gross_spend": 0.0, "btyd_frequency": 0.0,
        "recency_days": None, "monetary_mean": None, "btyd_recency": None, "btyd_T": None,
        "btyd_monetary": None,
    }  # fmt: skip
    r = client.post("/score", json={"features": none})
    assert r.status_code == 200, r.text
    assert "recency_days" in r.json()["missing_features"]


def _feedback(client: TestClient, customer_id: str, offer_id: str) -> Any:
    body = {"customer_id": customer_id, "offer_id": offer_id, "channel": "web", "outcome": "shown"}
    return client.post("/feedback", json=body)


def test_feedback_refuses_unknown_offers_and_customers(
    client: TestClient, service_env: Path
) -> None:
    cid = known_id(service_env)
    offer = _feedback(client, cid, "no_such_offer")
    assert offer.status_code == 400 and _is_error(offer)["field"] == "offer_id"
    assert "xs_wine_intro" in offer.json()["error"]  # says what is known
    customer = _feedback(client, "nobody-at-all", "xs_wine_intro")
    assert customer.status_code == 400 and _is_error(customer)["field"] == "customer_id"
    assert _feedback(client, cid, "xs_wine_intro").status_code == 200


def test_feedback_accepts_a_customer_scored_by_score(client: TestClient) -> None:
    assert _feedback(client, "cold-42", "xs_wine_intro").status_code == 400
    scored = client.post("/score", json={"customer_id": "cold-42", "features": HISTORY})
    assert scored.status_code == 200
    assert _feedback(client, "cold-42", "xs_wine_intro").status_code == 200


def test_the_log_names_no_client_text_outside_the_schema(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Unknown field names, paths and feature keys are the client's words: not logged."""
    with caplog.at_level(logging.INFO):
        client.post(f"/profile/{CANARY_ID}", json={})
        client.post("/score", json={"features": {"": 1.0}})
    lines = [r.getMessage() for r in caplog.records if r.name == "cintel.rejected"]
    assert lines == [
        "rejected POST (unknown path) 404 field=-",
        "rejected POST /score 400 field=features",
    ]
    assert CANARY_ID not in _service_log(caplog)
