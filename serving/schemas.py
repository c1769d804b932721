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
# Units throughout: probabilities in [0, 1]; money in the currency of the data's
# transactions (their amount and margin columns); durations in days. H is the label horizon
# the models were trained with (`cintel train --horizon-days`, default 90 days), counted
# from the store's as_of. null: not known for this customer (e.g. no purchase yet).
HORIZON = "the next H days after as_of (H: `cintel train --horizon-days`, default 90)"
MONEY = "in the currency of the data's transactions"


def _doc(text: str) -> str:
    return " ".join(text.split())


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Churn(_Answer):
    """Churn risk from cintel-churn and partial-churn risk from cintel-churn-partial (two
    heads: XGBoost, isotonic-calibrated, reasons from the same per-row contributions)."""

    probability: float | None = Field(
        description=_doc(
            f"""probability that the customer makes no purchase in {HORIZON}, calibrated on
            past outcomes; null when not scored"""
        )
    )
    reasons: list[str] = Field(
        description="the top drivers of the risk in words (only when probability >= 0.3)"
    )
    partial_probability: float | None = Field(
        default=None,
        description=_doc(
            f"""probability of partial churn: that the customer still buys in {HORIZON}
            but their gross spend there falls below half of their gross spend in the H
            days before as_of (a total churner, who buys nothing, is not a partial one),
            from cintel-churn-partial, calibrated on past outcomes of customers who bought
            in those H days before; null for a customer without a transaction in the H
            days before as_of (nothing to drop from) or without a cintel-churn-partial
            champion"""
        ),
    )
    partial_reasons: list[str] = Field(
        default_factory=list,
        description="the top drivers of the partial-churn risk in words (only when "
        "partial_probability >= 0.3)",
    )


class Clv(_Answer):
    """Customer lifetime value: expected future margin, discounted, from cintel-clv."""

    value_3m: float | None = Field(
        description=f"expected margin over the next 3 months after as_of, {MONEY}"
    )
    value_6m: float | None = Field(description=f"the same over 6 months, {MONEY}")
    value_12m: float | None = Field(description=f"the same over 12 months, {MONEY}")
    p10_12m: float | None = Field(
        description=f"10th percentile of the 12-month value (a p10-p90 interval), {MONEY}"
    )
    p90_12m: float | None = Field(description=f"90th percentile of the 12-month value, {MONEY}")
    model: str | None = Field(
        description='which model gave the values: "learned" (an XGBoost correction of '
        'BG/NBD x Gamma-Gamma) or "btyd" (BG/NBD x Gamma-Gamma alone), whichever '
        "validated better at training"
    )


class Rfm(_Answer):
    """Recency, frequency and monetary scores 1-5: quintiles of the buyers at training
    (a customer without a purchase is 1-1-1)."""

    recency: int | None = Field(description="1-5, 5 = bought most recently")
    frequency: int | None = Field(description="1-5, 5 = the most purchases")
    monetary: int | None = Field(description="1-5, 5 = the highest spend")
    score: str | None = Field(description='R, F and M digits, e.g. "545"')


class Segment(_Answer):
    """Behavioural segment from cintel-segments (spend mix and activity)."""

    name: str | None = Field(description='display name, e.g. "weekend wine"')
    id: str | None = Field(
        description="stable segment id (lowercase, underscores), kept across retrains; what "
        "the offer catalogue's eligible.segments names"
    )
    probabilities: dict[str, float | None] = Field(
        description="probability of membership by segment id (they sum to 1)"
    )


class Propensity(_Answer):
    """Cross-sell propensity of one product family, from cintel-propensity."""

    any: float | None = Field(
        description=f"probability that the customer buys this family in {HORIZON}"
    )
    first_time: float | None = Field(
        description=_doc(
            f"""probability of a first purchase of this family in {HORIZON}; null when
            the customer has bought it before"""
        )
    )


class Economics(_Answer):
    """The customer's own P&L over the 12 months before the store's as_of (money in the
    transactions' currency); costs priced by the data folder's costs.yaml."""

    net_contribution_12m: float | None = Field(
        description="margin_12m - returns_12m - cost_to_serve_12m - contact_cost_12m"
    )
    margin_12m: float | None = Field(description="margin of the purchases")
    returns_12m: float | None = Field(description="margin given back on returns (>= 0)")
    cost_to_serve_12m: float | None = Field(
        description="orders x per-order cost of their channel + returns x per-return cost"
    )
    contact_cost_12m: float | None = Field(
        description="recorded contacts (decisions that showed offers) x per-contact cost"
    )
    acquisition_cost: float | None = Field(
        description="one-off: the customers table's own column, else by acquisition channel"
    )
    costs: str | None = Field(
        description="the costs.yaml used, or a note that there was none (every cost 0)"
    )


class Potential(_Answer):
    """cintel-potential: what the customer could spend with us a year (money a year)."""

    value_12m: float | None = Field(
        description="upper-quantile (0.9) yearly spend of similar customers, at least the "
        "customer's own spend of the last 12 months"
    )
    share_of_wallet: float | None = Field(
        description="spend of the last 12 months / value_12m, in [0, 1]"
    )
    headroom: float | None = Field(description="value_12m - spend of the last 12 months")


class Lifecycle(_Answer):
    """Where the customer is in the lifecycle (rules in the README: Customer economics)."""

    stage: Literal["new", "active", "developing", "at risk", "lapsed", "won back"] | None = Field(
        description="by the rules of training/economics/lifecycle.py (README)"
    )
    since: str | None = Field(description="the date the customer entered the stage (ISO)")


class Cell(_Answer):
    """The customer's cell of current value x potential x needs and what to do with it
    (README: Customer economics, cells); null without a publish that placed the customer."""

    id: str | None = Field(
        description='"<value tier>/<potential>/<segment id>", e.g. "gold/high/weekend_wine"'
    )
    value: str | None = Field(description="current value: the value tier")
    potential: Literal["high", "medium", "low", "unknown"] | None = Field(
        description="potential level by headroom (or share of wallet, cells.yaml) among the "
        "customers cintel-potential scored: top 20 % high, next 30 % medium; unknown without it"
    )
    needs: str | None = Field(description="the behavioural segment id")
    strategy: Literal["retain", "develop", "maintain", "reduce_cost_to_serve"] | None = Field(
        description="the strategy of the (value, potential) cell, from cells.yaml or the defaults"
    )


class MicroSegment(_Answer):
    """A fine cell: segment x tier x lifecycle stage x preferred channel, small ones merged."""

    id: str | None = Field(
        description='"<segment id>/<tier>/<stage>/<channel>"; a part merged away because the '
        'cell had fewer customers than the minimum size is "*" (e.g. "weekend_wine/gold/*/*"); '
        "what the offer catalogue's eligible.micro_segments names"
    )


class RankedOfferAnswer(_Answer):
    """One next-best offer, best first (offer catalogue + the customer's scores)."""

    offer_id: str = Field(description="the offer's id in the offer catalogue")
    campaign: str = Field(description="the campaign the offer belongs to (offer catalogue)")
    kind: Literal["cross_sell", "retention", "up_sell"] = Field(
        description="cross_sell (a product family), retention (keep a customer at risk) or "
        "up_sell (a bigger purchase)"
    )
    family: str | None = Field(description="the product family offered; null for retention")
    score: float = Field(
        description=_doc(
            f"""what the offers are ranked by, {MONEY}: the expected value, or the
            incremental value (uplift x value - cost) when the campaign ranks by uplift
            (see ranking)"""
        )
    )
    expected_value: float = Field(
        description=_doc(
            f"""expected margin from making the offer, {MONEY}: the probability of a
            response (a purchase of the family in {HORIZON}, or staying for a retention
            offer) times the value at stake, less the offer's cost"""
        )
    )
    uplift: float | None = Field(
        description="P(response | offered) - P(response | not offered) from cintel-uplift "
        "when the campaign ranks by uplift, else null"
    )
    priority: bool = Field(description="a retention offer for a high-value, high-risk customer")
    reasons: list[str] = Field(description="why this offer, in words")


class ProfileAnswer(_Answer):
    """One customer: model outputs from the store (or scored) and offers for this request.
    Probabilities in [0, 1]; money in the currency of the data's transactions; H the
    models' label horizon (default 90 days) after as_of."""

    customer_id: str
    model_versions: dict[str, str] = Field(
        description="the registered version of each model that produced the answer, e.g. "
        '{"churn": "3"} for cintel-churn version 3'
    )
    as_of: str | None = Field(
        description=_doc(
            """the point in time the features describe (ISO 8601): only events before it
            are known, horizons start there. The store's as_of, or for a customer updated
            by POST /events the day after their latest event; null for /score (the
            features came with the request)"""
        ),
    )
    churn: Churn
    prob_alive: float | None = Field(
        description=_doc(
            """probability that the customer is still active (has not silently dropped
            out) at as_of, from the purchase history (BTYD model); never below 1 -
            churn.probability"""
        )
    )
    expected_purchases: float | None = Field(
        description=f"expected number of purchase days in {HORIZON}"
    )
    clv: Clv
    value_tier: str | None = Field(
        description=_doc(
            """platinum, gold, silver or bronze by net margin over the 365 days before
            as_of among customers with positive margin; value_destroyer for a margin of 0
            or less"""
        )
    )
    rfm: Rfm
    segment: Segment
    propensity: dict[str, Propensity] = Field(description="by product family")
    economics: Economics
    potential: Potential
    lifecycle: Lifecycle
    cell: Cell
    micro_segment: MicroSegment
    held_out: list[str] = Field(
        description="campaigns whose control group the customer is in: their offers are "
        "withheld (do not make them by hand either)"
    )
    ranking: dict[str, Literal["expected_value", "uplift"]] = Field(
        description="per campaign, how its offers were ranked for this customer"
    )
    cold_start: bool = Field(
        description="true when scored from the request's features (/score), not the store"
    )
    offers: list[RankedOfferAnswer] = Field(description="next-best offers, best first")
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
    profiles: list[ProfileAnswer] = Field(description="the customers found, in request order")
    not_found: list[str] = Field(description="the ids the online store does not know")


class FeedbackAnswer(_Answer):
    stored: bool = Field(description="true when the outcome was stored durably")
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
