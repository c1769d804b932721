"""Outbound campaign lists: retention or cross-sell targets in priority order, vectorised."""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from serving.catalogue import Catalogue, Offer, default_catalogue, slug
from serving.offers import OfferContext, evaluate_offer, priority_reason

Campaign = Literal["retention", "cross-sell"]
COLUMNS = [
    "rank",
    "customer_id",
    "offer_id",
    "score",
    "churn_probability",
    "clv_12m",
    "value_tier",
    "reasons",
]


def _floats(profiles: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64 (NaN where missing or when the column is absent)."""
    if name not in profiles:
        return np.full(len(profiles), np.nan)
    return pd.to_numeric(profiles[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


Codes = dict[str, tuple[np.ndarray, np.ndarray]]


def _codes(profiles: pd.DataFrame) -> Codes:
    """value_tier and segment factorised once: (codes with -1 for missing, uniques)."""
    out: Codes = {}
    for name in ("value_tier", "segment"):
        if name in profiles:
            codes, uniques = pd.factorize(profiles[name], use_na_sentinel=True)
            out[name] = (codes, np.asarray(uniques, dtype=object))
    return out


def _allowed(codes: Codes, n: int, offer: Offer, channel: str | None) -> np.ndarray:
    """Tier, segment and channel rules of one offer, for every customer."""
    rule = offer.eligible
    ok = np.ones(n, dtype=bool)
    if rule.channels is not None and channel is not None and channel not in rule.channels:
        return np.zeros(n, dtype=bool)
    for name, allowed in (("value_tier", rule.tiers), ("segment", rule.segments)):
        if allowed is None:
            continue
        if name not in codes:
            return np.zeros(n, dtype=bool)
        col, uniques = codes[name]
        lut = np.append(np.array([u in allowed for u in uniques], dtype=bool), False)
        ok &= lut[col]  # code -1 (missing) picks the trailing False
    return ok


def offer_values(
    profiles: pd.DataFrame, offer: Offer, channel: str | None = None, codes: Codes | None = None
) -> np.ndarray:
    """Expected value of one offer per customer, NaN where it is not allowed (same rules and
    arithmetic as ``serving.offers.evaluate_offer``, without contact caps)."""
    ok = _allowed(_codes(profiles) if codes is None else codes, len(profiles), offer, channel)
    churn = _floats(profiles, "churn_probability")
    if offer.kind == "retention":
        assert offer.save_rate is not None
        clv = _floats(profiles, "clv_12m")
        fallback = np.nan if offer.value is None else offer.value
        at_stake = np.where(np.isnan(clv), fallback, np.fmax(clv, 0.0))
        ok &= churn >= offer.min_churn  # False for NaN churn
        ev = churn * offer.save_rate * at_stake - offer.cost
    elif offer.kind == "up_sell":
        assert offer.value is not None and offer.accept_rate is not None
        stay = np.where(np.isnan(churn), 1.0, 1.0 - churn)
        ev = offer.accept_rate * stay * offer.value - offer.cost
    else:
        assert offer.value is not None and offer.family is not None
        fam = offer.family
        kind = "first" if offer.first_time_only else "any"
        if f"propensity_any__{fam}" not in profiles and f"propensity_first__{fam}" not in profiles:
            return np.full(len(profiles), np.nan)  # unknown family
        if offer.first_time_only:
            ok &= ~(np.nan_to_num(_floats(profiles, f"fam_count__{fam}")) > 0)
        ev = _floats(profiles, f"propensity_{kind}__{fam}") * offer.value - offer.cost
    return np.where(ok & (ev > 0), ev, np.nan)


def _reasons(
    profiles: pd.DataFrame,
    rows: np.ndarray,
    offer_ids: np.ndarray,
    catalogue: Catalogue,
    ctx: OfferContext,
) -> list[str]:
    """The offer's reasons for the chosen rows only (a Python loop over ``top`` rows)."""
    by_id = {o.id: o for o in catalogue.offers}
    fams = {o.family for o in by_id.values() if o.family}
    keep = [c for c in profiles.columns if c.split("__", 1)[-1] in fams or "__" not in c]
    out = []
    records = cast("list[dict[str, Any]]", profiles.iloc[rows][keep].to_dict("records"))
    for record, oid in zip(records, offer_ids, strict=True):
        result = evaluate_offer(by_id[oid], record, ctx, priority_reason(record, catalogue))
        out.append("; ".join(result[1]) if isinstance(result, tuple) else result)
    return out


def campaign_targets(
    profiles: pd.DataFrame,
    campaign: Campaign,
    top: int,
    catalogue: Catalogue | None = None,
    channel: str | None = None,
) -> pd.DataFrame:
    """The ``top`` customers to contact, best first, with their best offer of the campaign.

    retention: customers with at least one retention offer of positive expected value,
    ordered by churn_probability × max(clv_12m, 0); the offer is the one with the highest
    expected value. cross-sell: ordered by the best cross-sell offer's expected value.
    Ties keep the input order. Contact caps are not applied here.
    """
    if campaign not in ("retention", "cross-sell"):
        raise ValueError(f"campaign must be 'retention' or 'cross-sell', got {campaign!r}")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if "customer_id" not in profiles:
        raise ValueError("profiles: missing column 'customer_id'")
    catalogue = catalogue or default_catalogue()
    chan = None if channel is None else slug(channel)
    offers = catalogue.of_kind("retention" if campaign == "retention" else "cross_sell")
    n = len(profiles)
    if not offers or n == 0:
        return pd.DataFrame(columns=COLUMNS)
    codes = _codes(profiles)
    ev = np.full((len(offers), n), -np.inf)  # one contiguous row per offer; -inf: not offered
    for j, offer in enumerate(offers):
        values = offer_values(profiles, offer, chan, codes)
        np.copyto(ev[j], values, where=~np.isnan(values))
    best = np.argmax(ev, axis=0)  # first best: catalogue order on ties, as in rank_offers
    best_ev = ev[best, np.arange(n)]
    has = best_ev > -np.inf
    churn, clv = _floats(profiles, "churn_probability"), _floats(profiles, "clv_12m")
    score = churn * np.fmax(clv, 0.0) if campaign == "retention" else best_ev
    score = np.where(np.isnan(score), 0.0, score)
    cand = np.flatnonzero(has)
    rows = cand[np.argsort(-score[cand], kind="stable")[:top]]
    offer_ids = np.array([o.id for o in offers], dtype=object)[best[rows]]
    tiers = profiles["value_tier"] if "value_tier" in profiles else pd.Series([None] * n)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(rows) + 1),
            "customer_id": profiles["customer_id"].to_numpy()[rows],
            "offer_id": offer_ids,
            "score": score[rows],
            "churn_probability": churn[rows],
            "clv_12m": clv[rows],
            "value_tier": tiers.to_numpy()[rows],
            "reasons": _reasons(profiles, rows, offer_ids, catalogue, OfferContext(channel=chan)),
        }
    )
