"""Next-best-offer arbitration for one customer: eligibility, suppression, expected value, order."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from serving.catalogue import Catalogue, Offer, slug
from serving.contacts import ContactHistory, Instant, epoch_seconds

DAY = 86_400.0


@dataclass(frozen=True)
class OfferContext:
    """The request: channel (None = any), families in today's basket, offers to leave out."""

    channel: str | None = None
    basket_families: frozenset[str] = frozenset()
    exclude_offers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.channel is not None:
            object.__setattr__(self, "channel", slug(self.channel))
        object.__setattr__(self, "basket_families", frozenset(map(slug, self.basket_families)))
        object.__setattr__(self, "exclude_offers", frozenset(self.exclude_offers))


@dataclass
class RankedOffer:
    """An offer to make; ``score`` is the expected value, ``priority`` marks the retention class."""

    offer_id: str
    kind: str
    family: str | None
    score: float
    expected_value: float
    reasons: list[str]
    priority: bool = False
    description: str = ""


@dataclass(frozen=True)
class SuppressedOffer:
    """An offer not made, with the first rule that stopped it."""

    offer_id: str
    kind: str
    family: str | None
    reason: str


@dataclass
class Arbitration:
    """Offers to make in order, and the suppressed ones for debugging."""

    offered: list[RankedOffer] = field(default_factory=list)
    suppressed: list[SuppressedOffer] = field(default_factory=list)


def _num(x: Any) -> float | None:
    """A finite float, or None for None/NaN/inf/non-numbers."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _pretty(family: str) -> str:
    return family.replace("_", " ")


def priority_reason(profile: Mapping[str, Any], catalogue: Catalogue) -> str | None:
    """Why the customer's retention offers come first ("gold tier", "CLV 1,200"), or None.

    Priority = churn risk >= ``priority.churn_min`` and high value: a tier in
    ``priority.tiers`` or clv_12m >= ``priority.clv_min``.
    """
    rule, churn = catalogue.priority, _num(profile.get("churn_probability"))
    if churn is None or churn < rule.churn_min:
        return None
    tier, clv = profile.get("value_tier"), _num(profile.get("clv_12m"))
    if tier in rule.tiers:
        return f"{tier} tier"
    if clv is not None and clv >= rule.clv_min:
        return f"CLV {clv:,.0f}"
    return None


def _rules(offer: Offer, profile: Mapping[str, Any], ctx: OfferContext) -> str | None:
    """Request, tier, segment and channel rules: the reason the offer is not allowed, or None."""
    rule = offer.eligible
    if offer.id in ctx.exclude_offers:
        return "excluded by the request"
    if rule.channels is not None and ctx.channel is not None and ctx.channel not in rule.channels:
        return f"channel {ctx.channel} not allowed"
    tier = profile.get("value_tier")
    if rule.tiers is not None and tier not in rule.tiers:
        return f"tier {tier or 'unknown'} not allowed"
    segment = profile.get("segment")
    if rule.segments is not None and segment not in rule.segments:
        return f"segment {segment or 'unknown'} not allowed"
    return None


def evaluate_offer(
    offer: Offer, profile: Mapping[str, Any], ctx: OfferContext, prio: str | None
) -> tuple[float, list[str]] | str:
    """(expected value, reasons) by kind, or the suppression reason; ``prio`` is why the
    customer is in the priority class (None when not).

    cross_sell: propensity_first (first_time_only) or propensity_any × value − cost.
    retention: churn_probability × save_rate × max(clv_12m, 0) − cost (offer value if no CLV).
    up_sell: accept_rate × (1 − churn_probability) × value − cost.
    """
    churn = _num(profile.get("churn_probability"))
    if offer.kind == "retention":
        assert offer.save_rate is not None
        if churn is None:
            return "no churn probability"
        if churn < offer.min_churn:
            return f"churn risk {churn:.2f} below {offer.min_churn:.2f}"
        clv = _num(profile.get("clv_12m"))
        at_stake = max(clv, 0.0) if clv is not None else offer.value
        if at_stake is None:
            return "no clv_12m"
        ev = churn * offer.save_rate * at_stake - offer.cost
        head = f"high churn risk {churn:.2f} and {prio}" if prio else f"churn risk {churn:.2f}"
        calc = f"{churn:.2f} churn × {offer.save_rate:.0%} save rate × {at_stake:,.0f} CLV"
        return ev, [head, f"expected value {ev:.2f} = {calc} − {offer.cost:.2f} cost"]
    assert offer.value is not None
    if offer.kind == "up_sell":
        assert offer.accept_rate is not None
        stay = 1.0 - churn if churn is not None else 1.0
        p = offer.accept_rate * stay
        head = f"{p:.0%} estimated acceptance ({offer.accept_rate:.0%} base × {stay:.2f} stay)"
    else:
        fam = offer.family
        assert fam is not None
        kind = "first" if offer.first_time_only else "any"
        if f"propensity_any__{fam}" not in profile and f"propensity_first__{fam}" not in profile:
            return f"unknown family {fam}"
        if fam in ctx.basket_families:
            return f"{_pretty(fam)} already in today's basket"
        if offer.first_time_only and (_num(profile.get(f"fam_count__{fam}")) or 0.0) > 0:
            return f"already buys {_pretty(fam)}"
        prop = _num(profile.get(f"propensity_{kind}__{fam}"))
        if prop is None:
            return f"no {kind} propensity for {_pretty(fam)}"
        p = prop
        first = " for the first time" if offer.first_time_only else ""
        head = f"{p:.0%} chance to buy {_pretty(fam)}{first}"
    ev = p * offer.value - offer.cost
    calc = f"{p:.0%} × {offer.value:.2f} margin − {offer.cost:.2f} cost"
    return ev, [head, f"expected value {ev:.2f} = {calc}"]


def arbitrate(
    profile: Mapping[str, Any],
    catalogue: Catalogue,
    context: OfferContext | None = None,
    contacts: ContactHistory | None = None,
    now: Instant | None = None,
) -> Arbitration:
    """Every offer either ranked or suppressed with its reason (see ``rank_offers``)."""
    ctx = context or OfferContext()
    now_s = epoch_seconds(now if now is not None else datetime.now().astimezone())
    cid = profile.get("customer_id")
    gcap = catalogue.global_cap
    global_full = (
        contacts is not None
        and gcap is not None
        and contacts.count(cid, None, now_s - gcap.per_days * DAY) >= gcap.max_contacts
    )
    out = Arbitration()
    prio = priority_reason(profile, catalogue)
    for offer in catalogue.offers:
        result: tuple[float, list[str]] | str | None = _rules(offer, profile, ctx)
        if result is None:
            result = evaluate_offer(offer, profile, ctx, prio)
        cap = offer.cap
        if isinstance(result, tuple) and contacts is not None:
            if global_full:
                result = "global contact cap reached"
            elif (
                cap is not None
                and contacts.count(cid, offer.id, now_s - cap.per_days * DAY) >= cap.max_contacts
            ):
                result = f"contact cap reached ({cap.max_contacts} per {cap.per_days:g} days)"
        if isinstance(result, tuple) and result[0] <= 0:
            result = f"expected value {result[0]:.2f} ≤ 0"
        if isinstance(result, str):
            out.suppressed.append(SuppressedOffer(offer.id, offer.kind, offer.family, result))
            continue
        ev, reasons = result
        p = prio is not None and offer.kind == "retention"
        out.offered.append(
            RankedOffer(offer.id, offer.kind, offer.family, ev, ev, reasons, p, offer.description)
        )
    out.offered.sort(key=lambda r: (not r.priority, -r.expected_value))
    return out


def rank_offers(
    profile: Mapping[str, Any],
    catalogue: Catalogue,
    context: OfferContext | None = None,
    contacts: ContactHistory | None = None,
    now: Instant | None = None,
    limit: int | None = None,
) -> list[RankedOffer]:
    """Offers to make, best first.

    Retention offers for high-value, high-risk customers (``priority_reason``) come first, then
    every other offer by expected value; ties keep catalogue order. Offers with expected
    value ≤ 0, ineligible ones and suppressed ones are left out (``arbitrate`` lists them).
    """
    offered = arbitrate(profile, catalogue, context, contacts, now).offered
    return offered if limit is None else offered[:limit]
