"""The OpenAPI document of the service (``/docs.json``), true to what the endpoints send.

BentoML's generated document is kept for its frame (health endpoints) but its info is
cintel's (name, version, description with the units) and every endpoint of ours gets its
request body (required, except /status's), its answer, an example of each
(``serving.api_examples``) and one documented error answer (``ErrorAnswer``) per status it
can send, all built from ``serving.schemas``. pydantic's JSON Schema is rewritten to
OpenAPI 3.0: ``X | None`` is ``nullable: true`` (BentoML's own conversion dropped the
null, so a null answer field broke its schema), ``const`` is a one-value ``enum``, and
keywords 3.0 lacks are dropped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from serving.api_examples import EXAMPLES
from serving.catalogue import Catalogue
from serving.event_input import EventsAnswer, EventsRequest
from serving.prospect_schemas import ProspectAnswer, ProspectRequest
from serving.schemas import (
    ErrorAnswer,
    FeedbackAnswer,
    FeedbackByCustomer,
    FeedbackByDecision,
    FeedbackRequest,
    ProfileAnswer,
    ProfileRequest,
    ProfilesAnswer,
    ProfilesRequest,
    ScoreAnswer,
    ScoreRequest,
    StatusRequest,
)
from serving.scoring import EMPTY_WITHOUT_PURCHASE, REQUIRED_FEATURES

REF = "#/components/schemas/{model}"
JSON = "application/json"
DROPPED = frozenset({"propertyNames", "examples", "$schema"})

ERRORS: dict[int, str] = {
    400: "Bad input: malformed JSON, a wrong type or value, a missing or unknown field, or "
    "a value the service does not know; `field` names it",
    401: "Missing or wrong X-API-Key header (only when CINTEL_API_KEY is set)",
    404: "The customer is not in the online store (`field`: customer_id)",
    413: "Request body over CINTEL_MAX_BODY_BYTES",
    415: "Content-Type other than application/json (a body without one is read as JSON)",
    429: "Too many requests in flight",
    500: "Unexpected server error (a bug: please report it)",
    503: "The online store or the models are not loaded yet (see /readyz)",
    504: "The request took longer than the service's timeout",
}
COMMON = (400, 401, 413, 415, 429, 500, 504)
DESCRIPTION = """Customer intelligence from your own transactions: churn risk, probability
alive, expected purchases, customer lifetime value with an interval, value tier, RFM,
behavioural segment, cross-sell propensities and the next-best offers, for a customer id
(`/profile`, `/profiles`) or a feature payload (`/score`); offer outcomes go back to
`/feedback`; people without a history (attributes only) are scored by `/prospect`.

**Units.** Probabilities are in [0, 1]. Money (CLV, expected values, offer scores) is in the
currency of the data's transactions (their `amount` and `margin`). Durations are in days.
H is the label horizon the models were trained with (`cintel train --horizon-days`,
default 90 days); every horizon starts at the answer's `as_of`, the point in time the
online store's features describe. `model_versions` names the registered model versions
(`cintel-churn`, ...) that produced the answer.

**Errors** are `{"error": "...", "field": "..."}` with the request field at fault. This page
is at `/docs`, its document at `/docs.json`."""
TAGS = [
    {"name": "Service APIs", "description": "Profiles, scores and offer feedback."},
    {"name": "Infrastructure", "description": "Health (/livez, /readyz) and /metrics."},
]


def _info() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("cintel")
    except PackageNotFoundError:  # a source tree that is not installed
        release = "0+unknown"
    return {
        "title": "cintel customer intelligence API",
        "version": release,
        "description": DESCRIPTION,
    }


@dataclass(frozen=True)
class Operation:
    request: type[BaseModel]
    answer: type[BaseModel]
    errors: tuple[int, ...]
    body_required: bool = True


OPERATIONS: dict[str, Operation] = {
    "/profile": Operation(ProfileRequest, ProfileAnswer, (*COMMON, 404, 503)),
    "/profiles": Operation(ProfilesRequest, ProfilesAnswer, (*COMMON, 503)),
    "/score": Operation(ScoreRequest, ScoreAnswer, (*COMMON, 503)),
    "/feedback": Operation(FeedbackRequest, FeedbackAnswer, (*COMMON, 503)),
    "/events": Operation(EventsRequest, EventsAnswer, (*COMMON, 503)),
    "/prospect": Operation(ProspectRequest, ProspectAnswer, (*COMMON, 503)),
    "/status": Operation(StatusRequest, BaseModel, COMMON, body_required=False),
}


def to_openapi30(node: Any) -> Any:
    """A pydantic JSON Schema (2020-12) node as an OpenAPI 3.0 schema object."""
    if isinstance(node, list):
        return [to_openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_openapi30(v) for k, v in node.items() if k not in DROPPED}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if not isinstance(options, list) or {"type": "null"} not in options:
            continue
        rest = [o for o in options if o != {"type": "null"}]
        del out[key]
        if len(rest) == 1 and "$ref" in rest[0]:
            out["allOf"] = rest  # a $ref ignores its siblings in 3.0: wrap it
        elif len(rest) == 1:
            out = {**rest[0], **out}
        else:
            out[key] = rest
        out["nullable"] = True
    return out


def _components() -> tuple[dict[str, Any], dict[Any, str]]:
    requests = [op.request for op in OPERATIONS.values()]
    answers = [op.answer for op in OPERATIONS.values() if op.answer is not BaseModel]
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in requests]
    modes += [(m, "serialization") for m in answers]
    modes += [(FeedbackByDecision, "validation"), (FeedbackByCustomer, "validation")]
    keys, schema = models_json_schema([*modes, (ErrorAnswer, "serialization")], ref_template=REF)
    refs = {model: str(value["$ref"]).rsplit("/", 1)[1] for (model, _), value in keys.items()}
    defs: dict[str, Any] = to_openapi30(schema.get("$defs", {}))
    return defs, refs


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=name)}


def _score_description() -> str:
    names = ", ".join(sorted(REQUIRED_FEATURES))
    empty = ", ".join(sorted(EMPTY_WITHOUT_PURCHASE))
    return (
        " Required features (those the loaded models take): "
        f"{names}; {empty} may be null when frequency is 0. Other features may be left out."
    )


def api_document(generated: dict[str, Any], catalogue: Catalogue) -> bytes:
    """``generated`` (BentoML's document as a dict) with our endpoints described truly."""
    spec = copy.deepcopy(generated)
    spec["info"] = _info()  # BentoML's: version "None", its own links and contact
    spec["tags"] = TAGS
    schemas, refs = _components()
    for body in (FeedbackByDecision, FeedbackByCustomer):
        schemas[refs[body]]["properties"]["offer_id"]["enum"] = [o.id for o in catalogue.offers]
    # /feedback takes one of two bodies (the handler tells them apart by decision_id)
    schemas[refs[FeedbackRequest]] = {
        "description": "An offer outcome: by decision (preferred) or, the older body, by customer",
        "oneOf": [_ref(refs[FeedbackByDecision]), _ref(refs[FeedbackByCustomer])],
    }
    features = schemas[refs[ScoreRequest]]["properties"]["features"]
    features["properties"] = {
        name: {"type": "number", "nullable": name in EMPTY_WITHOUT_PURCHASE, "description": use}
        for name, use in REQUIRED_FEATURES.items()
    }
    features["required"] = sorted(REQUIRED_FEATURES)
    error_ref = _ref(refs[ErrorAnswer])
    for path, op in OPERATIONS.items():
        post = spec["paths"][path]["post"]
        if op.answer is BaseModel:  # /status: a free-form object
            answer: dict[str, Any] = {"type": "object", "additionalProperties": True}
        else:
            answer = _ref(refs[op.answer])
        request, example = EXAMPLES[path]
        post["requestBody"] = {
            "required": op.body_required,
            "content": {JSON: {"schema": _ref(refs[op.request]), "example": request}},
        }
        ok: dict[str, Any] = {"schema": answer}
        if example is not None:
            ok["example"] = example
        post["responses"] = {
            "200": {"description": "Successful Response", "content": {JSON: ok}},
            **{
                str(status): {
                    "description": ERRORS[status],
                    "content": {JSON: {"schema": error_ref}},
                }
                for status in sorted(op.errors)
            },
        }
        if path == "/score":
            post["description"] = str(post.get("description", "")) + _score_description()
    spec["components"] = {**spec.get("components", {}), "schemas": schemas}
    return orjson.dumps(spec)
