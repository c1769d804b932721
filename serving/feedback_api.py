"""``POST /feedback``: an offer's outcome, by decision or (the older body) by customer.

The checks and the stored record of each body; the endpoint in ``serving.service`` only
chooses the body and hands over the service's state. Every refusal is a 400 naming the
field (``serving.errors``); a stored outcome is durable before the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from serving.decision_index import DecisionIndex
from serving.errors import error_response
from serving.feedback import FeedbackStore
from serving.schemas import CUSTOMER_OUTCOMES, OUTCOMES, FeedbackRequest


def _json(body: dict[str, Any]) -> Any:
    return Response(orjson.dumps(body), media_type="application/json")


def by_customer(
    request: FeedbackRequest,
    offer_ids: Set[str],
    knows: Callable[[str], bool],
    feedback: FeedbackStore,
    no_store: Any = None,
) -> Any:
    """Feedback naming a customer and channel: the customer known to the store or scored by
    /score here, the offer one of the catalogue's. ``no_store`` is the answer to give when
    no online store is loaded (None: one is) and the customer was not scored here."""
    for name in ("customer_id", "channel"):
        if getattr(request, name) is None:
            return error_response(
                400,
                f"{name}: required without decision_id (send the decision_id of the "
                "answer, or customer_id and channel)",
                name,
            )
    if request.outcome not in CUSTOMER_OUTCOMES:
        return error_response(
            400,
            f"outcome: {request.outcome!r} is an outcome of a decision's offer: send it "
            f"with decision_id (by customer: {', '.join(CUSTOMER_OUTCOMES)})",
            "outcome",
        )
    assert request.customer_id is not None
    if request.offer_id not in offer_ids:
        known = ", ".join(sorted(offer_ids))
        return error_response(
            400,
            f"offer_id {request.offer_id!r} is not in the offer catalogue (known: {known})",
            "offer_id",
        )
    known_here = knows(request.customer_id)
    if no_store is not None and not known_here:
        return no_store
    if not known_here:
        return error_response(
            400,
            f"customer_id {request.customer_id!r} is not in the online store and was not "
            "scored by /score here: feedback is for customers the service answered",
            "customer_id",
        )
    record = request.model_dump(include={"customer_id", "offer_id", "channel", "outcome"})
    feedback.store(record)
    return _json({"stored": True, "ts": record["ts"]})


def by_decision(request: FeedbackRequest, index: DecisionIndex, feedback: FeedbackStore) -> Any:
    """Feedback naming a decision: found in the decision log (any worker, any restart), the
    offer one it showed; the same outcome twice is stored once (``duplicate``)."""
    for name in ("customer_id", "channel"):
        if getattr(request, name) is not None:
            return error_response(
                400,
                f"{name}: not with decision_id (the customer and channel are the decision's)",
                name,
            )
    if request.outcome not in OUTCOMES:
        return error_response(
            400,
            f"outcome: {request.outcome!r} is not an outcome of a shown offer "
            f"(one of {', '.join(OUTCOMES)})",
            "outcome",
        )
    assert request.decision_id is not None
    decision = index.find(request.decision_id)
    if decision is None:
        return error_response(
            400,
            f"decision_id {request.decision_id!r} is not in the decision log of the last "
            f"{index.days} days (CINTEL_FEEDBACK_DAYS): send the decision_id of an answer",
            "decision_id",
        )
    shown = [str(o.get("offer_id")) for o in decision.get("offers") or []]
    if request.offer_id not in shown:
        withheld = [
            str(h.get("campaign"))
            for h in decision.get("held_out") or []
            for o in h.get("offers") or []
            if o.get("offer_id") == request.offer_id
        ]
        why = f"withheld (control group of campaign {withheld[0]})" if withheld else "not shown"
        return error_response(
            400,
            f"offer_id {request.offer_id!r} was {why} in decision {request.decision_id}; "
            f"it showed: {', '.join(shown) or 'no offers'}",
            "offer_id",
        )
    record = {
        "decision_id": request.decision_id,
        "offer_id": request.offer_id,
        "outcome": request.outcome,
        "ts": datetime.now(UTC).isoformat(timespec="microseconds"),
        "customer_id": decision.get("customer_id"),
        "channel": decision.get("channel"),
    }
    stored = feedback.store(record)
    return _json(
        {"stored": stored, "ts": record["ts"] if stored else None, "duplicate": not stored}
    )
