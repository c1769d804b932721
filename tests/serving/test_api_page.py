"""The API page a channel developer reads: cintel's own info, every answer field described
with its unit and horizon, a true example per endpoint, and the store's as_of in answers."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient

from serving.api_examples import EXAMPLES
from serving.catalogue import load_catalogue
from serving.openapi import OPERATIONS, api_document
from serving.schemas import (
    FeedbackByDecision,
    ProfileAnswer,
    ProfilesAnswer,
    ScoreAnswer,
)
from serving.settings import ServiceSettings

ANSWERS = (
    "ProfileAnswer",
    "ScoreAnswer",
    "ProfilesAnswer",
    "FeedbackAnswer",
    "Churn",
    "Clv",
    "Rfm",
    "Segment",
    "Propensity",
    "RankedOfferAnswer",
)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    from serving.service import Cintel

    catalogue = load_catalogue(ServiceSettings().offers_path)
    doc = api_document(Cintel.openapi_spec.asdict(), catalogue)  # type: ignore[attr-defined]
    return dict(json.loads(doc))


def test_the_info_is_cintels_own(spec: dict[str, Any]) -> None:
    info = spec["info"]
    assert info["title"] == "cintel customer intelligence API"
    assert info["version"] == version("cintel") and info["version"] != "None"
    assert "contact" not in info and "bentoml" not in json.dumps(info).lower()
    assert "currency of the data's transactions" in info["description"]
    assert "/docs" in info["description"]


def _described(spec: dict[str, Any], prop: dict[str, Any]) -> bool:
    if prop.get("description"):
        return True
    ref = prop.get("$ref") or (prop.get("allOf") or [{}])[0].get("$ref")
    return bool(ref) and bool(
        spec["components"]["schemas"][ref.rsplit("/", 1)[1]].get("description")
    )


def test_every_answer_field_is_described(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    bare = [
        f"{name}.{field}"
        for name in ANSWERS
        for field, prop in schemas[name]["properties"].items()
        if field != "customer_id" and not _described(spec, prop)
    ]
    assert bare == []


def test_answers_say_their_units_and_horizons(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    profile = schemas["ProfileAnswer"]["properties"]
    assert "as_of" in schemas["ProfileAnswer"]["required"] and profile["as_of"]["nullable"]
    churn = schemas["Churn"]["properties"]["probability"]["description"]
    assert "no purchase" in churn and "next H days" in churn and "default 90" in churn
    for field in ("value_3m", "value_12m", "p10_12m"):
        assert "currency" in schemas["Clv"]["properties"][field]["description"], field
    assert "next H days" in schemas["Propensity"]["properties"]["any"]["description"]
    assert "currency" in schemas["RankedOfferAnswer"]["properties"]["expected_value"]["description"]
    assert "365 days" in profile["value_tier"]["description"]


def test_every_endpoint_has_a_true_example(spec: dict[str, Any]) -> None:
    answers: dict[str, type[BaseModel]] = {
        "/profile": ProfileAnswer,
        "/profiles": ProfilesAnswer,
        "/score": ScoreAnswer,
    }
    for path, op in OPERATIONS.items():
        post = spec["paths"][path]["post"]
        request = post["requestBody"]["content"]["application/json"]["example"]
        assert request == EXAMPLES[path][0]
        body = FeedbackByDecision if path == "/feedback" else op.request
        body.model_validate(request)  # the example is a valid request
        answer = post["responses"]["200"]["content"]["application/json"].get("example")
        if op.answer is not BaseModel:
            assert answer is not None, path
            answers.get(path, op.answer).model_validate(answer)  # extra fields fail


def test_docs_is_cintels_page_and_answers_carry_the_store_as_of(
    client: TestClient, service_env: Path
) -> None:
    import pandas as pd

    for path in ("/docs", "/"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<title>cintel customer intelligence API</title>" in page.text
        assert "googletagmanager" not in page.text and "github.com" not in page.text
        assert client.get("/static_content/swagger-initializer.js").status_code == 200
    meta = json.loads((service_env / "store" / "meta.json").read_text())
    cid = str(pd.read_parquet(service_env / "store" / "profiles.parquet")["customer_id"].iloc[0])
    answer = client.post("/profile", json={"customer_id": cid}).json()
    assert answer["as_of"] == meta["as_of"]
    many = client.post("/profiles", json={"customer_ids": [cid]}).json()
    assert many["profiles"][0]["as_of"] == meta["as_of"]
