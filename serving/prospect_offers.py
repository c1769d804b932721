"""The offer catalogue's offer for a prospect's first-offer family (pure; no I/O).

The prospect model names a product family; the channels need an offer they can make. For
each prospect this picks, among the catalogue's cross-sell offers of that family, the one
``/profile`` would rank first for a person without a history: the highest expected value
(the first-year purchase probability × value − cost, > 0, as ``serving.offer_table``
scores a first-time offer). Eligibility, as ``/profile`` applies it to someone who buys
nothing yet: first-time-only offers are open (they buy no family), an ``eligible.stages``
list must hold ``new`` (the stage of every customer in their first 90 days), and the
rules on a customer's history (``tiers``, ``segments``, ``micro_segments``) and the
request's channel are not applied: a prospect has no tier, segment or channel until they
buy, and a rule that names them says which customers may get the offer, not which
strangers. No contact cap or control group applies (a prospect has no customer id).
"""

from __future__ import annotations

from collections.abc import Sequence

from serving.catalogue import Catalogue, Offer, slug

PROSPECT_STAGE = "new"


def open_to_prospects(offer: Offer) -> bool:
    """A cross-sell offer a person without a history may get (see the module docstring)."""
    stages = offer.eligible.stages
    return offer.kind == "cross_sell" and (stages is None or PROSPECT_STAGE in stages)


def first_offer_id(catalogue: Catalogue, family: str | None, probability: float) -> str | None:
    """The catalogue offer of ``family`` with the highest expected value for a prospect
    who buys it with ``probability``; None when no eligible offer of it is worth making."""
    if family is None or probability != probability:  # NaN: no probability, no offer
        return None
    fam = slug(family)
    best: tuple[float, str] | None = None
    for offer in catalogue.offers:
        if offer.family != fam or not open_to_prospects(offer):
            continue
        assert offer.value is not None  # a cross-sell offer always has one (catalogue)
        ev = probability * offer.value - offer.cost
        if ev > 0 and (best is None or ev > best[0]):
            best = (ev, offer.id)
    return None if best is None else best[1]


def first_offer_ids(
    catalogue: Catalogue, families: Sequence[str | None], probabilities: Sequence[float]
) -> list[str | None]:
    """``first_offer_id`` for each prospect (families and probabilities row by row)."""
    return [
        first_offer_id(catalogue, f, float(p)) for f, p in zip(families, probabilities, strict=True)
    ]
