"""A small schemathesis run against the service's own OpenAPI document (issue 12).

About 200 generated requests (20 valid and 20 invalid bodies per endpoint) go through the
ASGI app; every answer must be below 500 and match the document: its status documented,
its media type, its body schema. The reliability suite runs the same checks with far more
cases against a real ``cintel serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from starlette.testclient import TestClient

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving.conftest import HISTORY, known_id  # noqa: E402

ENDPOINTS = ("/profile", "/profiles", "/score", "/feedback", "/status")
CASES_PER_MODE = 20  # x 2 modes x 5 endpoints = 200 requests
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _send(client: TestClient, case: Any) -> Any:
    kw = case.as_transport_kwargs(base_url="http://testserver")
    return client.request(
        kw["method"],
        kw["url"],
        headers=kw.get("headers"),
        params=kw.get("params"),
        json=kw.get("json"),
        content=kw.get("data"),
    )


def _check(client: TestClient, case: Any, failures: list[str], statuses: list[int]) -> None:
    response = _send(client, case)
    statuses.append(response.status_code)
    try:
        case.validate_response(response, checks=CHECKS)
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup lists them
        failures.append(f"{case.method} {case.path} {response.status_code}: {exc}"[:800])


def test_generated_requests_get_documented_answers_and_no_5xx(client: TestClient) -> None:
    schema = schemathesis.openapi.from_dict(client.get("/docs.json").json())
    failures: list[str] = []
    statuses: list[int] = []
    for path in ENDPOINTS:
        operation = schema[path]["POST"]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=CASES_PER_MODE,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                _check(client, case, failures, statuses)

            run()
    assert len(statuses) >= 150, f"only {len(statuses)} requests were generated"
    assert not [s for s in statuses if s >= 500], statuses
    assert not failures, "\n".join(failures[:10])


def test_hand_written_answers_match_the_document(client: TestClient, service_env: Path) -> None:
    """The answers fuzzing rarely reaches: found customers, nulls, feedback, 404, 415."""
    schema = schemathesis.openapi.from_dict(client.get("/docs.json").json())
    cid = known_id(service_env)
    new_customer = {
        **{k: None for k in HISTORY},
        "frequency": 0.0, "margin_365d": 0.0, "gross_spend": 0.0, "btyd_frequency": 0.0,
    }  # fmt: skip
    shown = client.post("/profile", json={"customer_id": cid}).json()
    by_decision = {
        "decision_id": shown["decision_id"],
        "outcome": "clicked",
        "offer_id": (shown["offers"] or [{"offer_id": "xs_wine_intro"}])[0]["offer_id"],
    }
    cases = [
        ("/profile", {"customer_id": cid, "channel": None}, 200),
        ("/profile", {"customer_id": "nobody"}, 404),
        ("/profiles", {"customer_ids": [cid, "nobody"]}, 200),
        ("/score", {"customer_id": "doc-1", "features": new_customer}, 200),
        ("/score", {"features": {"frequency": 1.0}}, 400),
        ("/feedback", {"customer_id": cid, "offer_id": "xs_wine_intro", "channel": "web",
                       "outcome": "shown"}, 200),
        ("/feedback", by_decision, 200 if shown["offers"] else 400),
        ("/feedback", by_decision, 200 if shown["offers"] else 400),  # the repeat: duplicate
        ("/feedback", {**by_decision, "decision_id": "0" * 32}, 400),
        ("/status", {}, 200),
    ]  # fmt: skip
    failures: list[str] = []
    statuses: list[int] = []
    for path, body, _ in cases:
        _check(client, schema[path]["POST"].Case(body=body), failures, statuses)
    plain = schema["/profile"]["POST"].Case(
        body={"customer_id": cid}, headers={"Content-Type": "text/plain"}
    )
    _check(client, plain, failures, statuses)
    assert statuses == [status for _, _, status in cases] + [415]
    assert not failures, "\n".join(failures)
