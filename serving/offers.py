"""Next-best-offer arbitration: what the request changes, on top of ``offer_table``.

The static rules (tier, segment, churn, propensity, expected value) are evaluated for all
customers at once in ``serving.offer_table``; here the request's channel, basket and
exclusions, the contact caps and the control groups (``training.data.holdout``: a customer held
out of a campaign is not offered its offers) decide, and the offers made are ordered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from serving.catalogue import Catalogue, slug
from serving.contacts import ContactHistory, Instant, epoch_seconds
from serving.offer_table import OK, OfferTable, blocked_text, columns_of, offer_table, reasons
from training.data.holdout import in_control

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
    """An offer to make; ``score`` is what it is ranked by (the expected value, or the
    incremental value in a campaign ranked by uplift), ``priority`` marks the retention class."""

    offer_id: str
    kind: str
    family: str | None
    score: float
    expected_value: float
    reasons: list[str]
    priority: bool = False
    description: str = ""
    campaign: str = ""
    uplift: float | None = None


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


@dataclass(frozen=True)
class RequestRules:
    """Per offer (catalogue order): may the request have it, and if not, why."""

    allowed: np.ndarray  # bool
    why: tuple[str | None, ...]


def request_rules(catalogue: Catalogue, ctx: OfferContext) -> RequestRules:
    """Exclusions, channel rules and today's basket, once per request."""
    why: list[str | None] = []
    for offer in catalogue.offers:
        channels = offer.eligible.channels
        if offer.id in ctx.exclude_offers:
            why.append("excluded by the request")
        elif channels is not None and ctx.channel is not None and ctx.channel not in channels:
            why.append(f"channel {ctx.channel} not allowed")
        elif offer.family is not None and offer.family in ctx.basket_families:
            why.append(f"{offer.family.replace('_', ' ')} already in today's basket")
        else:
            why.append(None)
    return RequestRules(np.array([w is None for w in why], dtype=bool), tuple(why))


def contact_cap_reason(
    catalogue: Catalogue, contacts: ContactHistory | None, cid: str, j: int, now_s: float
) -> str | None:
    """The contact cap that stops offer ``j`` for ``cid``, or None."""
    if contacts is None:
        return None
    gcap = catalogue.global_cap
    if gcap is not None and (
        contacts.count(cid, None, now_s - gcap.per_days * DAY) >= gcap.max_contacts
    ):
        return "global contact cap reached"
    offer = catalogue.offers[j]
    cap = offer.cap
    if cap is not None and (
        contacts.count(cid, offer.id, now_s - cap.per_days * DAY) >= cap.max_contacts
    ):
        return f"contact cap reached ({cap.max_contacts} per {cap.per_days:g} days)"
    return None


def made_offer(table: OfferTable, i: int, j: int) -> RankedOffer:
    """Offer ``j`` as made to customer ``i`` (with its reasons)."""
    offer, ev, score = table.offers[j], float(table.ev[i, j]), float(table.score[i, j])
    prio = offer.kind == "retention" and bool(table.prio[i])
    uplift = float(table.uplift[i, j])
    return RankedOffer(
        offer.id,
        offer.kind,
        offer.family,
        score,
        ev,
        reasons(table, i, j),
        prio,
        offer.description,
        offer.campaign,
        None if uplift != uplift else uplift,
    )


def offer_order(offer: RankedOffer) -> tuple[bool, float]:
    """Sort key: priority retention offers first, then by score (sorts are stable, so ties
    keep catalogue order)."""
    return (not offer.priority, -offer.score)


def held_out_of(catalogue: Catalogue, customer_id: str | None) -> list[str]:
    """The campaigns whose control group ``customer_id`` is in (none for an anonymous
    customer: there is nobody to follow up)."""
    if customer_id is None:
        return []
    return [
        c
        for c in catalogue.campaign_ids
        if in_control(customer_id, c, catalogue.campaign(c).holdout)
    ]


def arbitrate(
    profile: Mapping[str, Any],
    catalogue: Catalogue,
    context: OfferContext | None = None,
    contacts: ContactHistory | None = None,
    now: Instant | None = None,
) -> Arbitration:
    """Every offer for one customer either made (best first) or suppressed with the first
    rule that stopped it: the request, the static rules, contact caps, a score (expected or
    incremental value) ≤ 0, the customer's control group for the offer's campaign."""
    rules = request_rules(catalogue, context or OfferContext())
    now_s = epoch_seconds(now if now is not None else datetime.now().astimezone())
    cid = str(profile.get("customer_id"))
    table = offer_table(columns_of([profile]), catalogue, 1)
    control = set(held_out_of(catalogue, cid))
    out = Arbitration()
    for j, offer in enumerate(catalogue.offers):
        why = rules.why[j]
        if why is None and table.blocked[0, j] != OK:
            why = blocked_text(table, 0, j)
        if why is None:
            why = contact_cap_reason(catalogue, contacts, cid, j, now_s)
        if why is None and not table.score[0, j] > 0:
            what = "incremental" if table.by_uplift[0, table.offer_campaign[j]] else "expected"
            why = f"{what} value {table.score[0, j]:.2f} ≤ 0"
        if why is None and offer.campaign in control:
            why = f"held out: in the control group of campaign {offer.campaign}"
        if why is None:
            out.offered.append(made_offer(table, 0, j))
        else:
            out.suppressed.append(SuppressedOffer(offer.id, offer.kind, offer.family, why))
    out.offered.sort(key=offer_order)
    return out
