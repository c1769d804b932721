"""Request bodies of the service: strict, so a wrong field is a 400 naming it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
DecisionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
# outcomes of an offer shown in a decision; the body by customer also takes shown, contacted
OUTCOMES = ("accepted", "declined", "clicked", "ignored")
CUSTOMER_OUTCOMES = ("shown", "accepted", "declined", "ignored", "contacted")
Outcome = Literal["accepted", "declined", "clicked", "ignored"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Context(_Strict):
    """What the channel knows right now; it changes the offers, not the scores."""

    basket_families: list[Name] = Field(default_factory=list, max_length=50)
    exclude_offers: list[Name] = Field(default_factory=list, max_length=100)


class ProfileRequest(_Strict):
    customer_id: CustomerId
    channel: Name | None = None
    context: Context | None = None


class ProfilesRequest(_Strict):
    customer_ids: list[CustomerId] = Field(min_length=1)
    channel: Name | None = None


class ScoreRequest(_Strict):
    """A customer the store does not know: features as the snapshot names them."""

    features: dict[Name, float | str | None] = Field(min_length=1, max_length=500)
    customer_id: CustomerId | None = None
    channel: Name | None = None
    context: Context | None = None


class FeedbackRequest(_Strict):
    """An offer outcome, in one of two bodies (the handler checks which; the OpenAPI
    document gives both, ``FeedbackByDecision`` and ``FeedbackByCustomer``)."""

    decision_id: DecisionId | None = None
    customer_id: CustomerId | None = None
    offer_id: Name
    channel: Name | None = None
    outcome: Literal["shown", "accepted", "declined", "clicked", "ignored", "contacted"]


class FeedbackByDecision(_Strict):
    """The outcome of an offer shown in a decision (its ``decision_id`` from the answer);
    the customer and channel are the decision's. Sent twice, it counts once."""

    decision_id: DecisionId = Field(description="the decision_id of the answer that showed it")
    offer_id: Name = Field(description="an offer of that decision's offers")
    outcome: Outcome


class FeedbackByCustomer(_Strict):
    """The older body: an outcome for a customer the service knows (the online store, or
    scored by /score in this process) and an offer of the catalogue. It feeds the contact
    caps only (no decision: the campaigns report cannot count it)."""

    customer_id: CustomerId
    offer_id: Name
    channel: Name
    outcome: Literal["shown", "accepted", "declined", "ignored", "contacted"]


class StatusRequest(BaseModel):
    """/status takes an empty object or no body (fields are ignored)."""

    model_config = ConfigDict(extra="allow")


# ---- answers: documented in the OpenAPI page; the handlers send pre-serialized JSON ----
class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Churn(_Answer):
    probability: float | None
    reasons: list[str] = Field(description="top drivers in words (churn risk >= 0.3 only)")


class Clv(_Answer):
    value_3m: float | None
    value_6m: float | None
    value_12m: float | None
    p10_12m: float | None
    p90_12m: float | None
    model: str | None


class Rfm(_Answer):
    recency: int | None
    frequency: int | None
    monetary: int | None
    score: str | None = Field(description='R, F and M digits, e.g. "545"')


class Segment(_Answer):
    name: str | None = Field(description='display name, e.g. "weekend wine"')
    id: str | None = Field(
        description="stable segment id (lowercase, underscores), kept across retrains; what "
        "the offer catalogue's eligible.segments names"
    )
    probabilities: dict[str, float | None] = Field(description="membership by segment id")


class Propensity(_Answer):
    any: float | None
    first_time: float | None


class RankedOfferAnswer(_Answer):
    offer_id: str
    campaign: str = Field(description="the campaign the offer belongs to (offer catalogue)")
    kind: Literal["cross_sell", "retention", "up_sell"]
    family: str | None
    score: float = Field(
        description="what the offers are ranked by: the expected value, or the incremental "
        "value (uplift x value - cost) when the campaign ranks by uplift (see ranking)"
    )
    expected_value: float
    uplift: float | None = Field(
        description="P(response | offered) - P(response | not offered) from cintel-uplift "
        "when the campaign ranks by uplift, else null"
    )
    priority: bool = Field(description="a retention offer for a high-value, high-risk customer")
    reasons: list[str]


class ProfileAnswer(_Answer):
    """One customer: model outputs from the store (or scored) and offers for this request."""

    customer_id: str
    as_of: str | None = Field(
        default=None,
        description="features use events before this time: the store's as_of, or for a "
        "customer updated by POST /events the day after their latest event",
    )
    model_versions: dict[str, str]
    churn: Churn
    prob_alive: float | None
    expected_purchases: float | None
    clv: Clv
    value_tier: str | None
    rfm: Rfm
    segment: Segment
    propensity: dict[str, Propensity]
    held_out: list[str] = Field(
        description="campaigns whose control group the customer is in: their offers are "
        "withheld (do not make them by hand either)"
    )
    ranking: dict[str, Literal["expected_value", "uplift"]] = Field(
        description="per campaign, how its offers were ranked for this customer"
    )
    cold_start: bool
    offers: list[RankedOfferAnswer]
    decision_id: str | None = Field(
        description="the id of this answer's decision record (32 hex digits): send it back "
        "with the outcome to POST /feedback. null when decision logging is off"
    )


class ScoreAnswer(ProfileAnswer):
    """A /score answer: the profile of a customer scored from the payload's features."""

    missing_features: list[str] = Field(
        description="model inputs the payload left out or sent as null: the models treated "
        "them as unknown (the boosters' missing-value branch; segment shares the training "
        "mean). The required ones (value tier, RFM, BTYD history) are never among them."
    )


class ProfilesAnswer(_Answer):
    profiles: list[ProfileAnswer]
    not_found: list[str]


class FeedbackAnswer(_Answer):
    stored: bool
    ts: str | None = Field(default=None, description="when it was stored (UTC, ISO 8601)")
    duplicate: bool = Field(
        default=False,
        description="true (and stored false) when this outcome of this decision and offer "
        "was already stored: it counts once",
    )


class ErrorAnswer(_Answer):
    """Every 4xx and 5xx answer."""

    error: str = Field(description="what is wrong and, for bad input, what to send instead")
    field: str | None = Field(
        default=None,
        description='the request field at fault as a dotted path ("context.exclude_offers[0]"), '
        "null when no single field is",
    )
