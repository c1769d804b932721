"""Offer rules for many customers at once: what does not depend on the request, in numpy.

``offer_table`` evaluates every catalogue offer for every customer of a store (or of one
scored row) once: expected value, the probability quoted in the reasons, and the first rule
that blocks the offer. The request path then only applies what the request changes
(channel, basket, exclusions, contact caps) and formats the reasons of the offers it
returns. The rules, per kind:

- cross_sell: propensity_first (first_time_only; current buyers blocked) or propensity_any
  × value − cost; a family the models do not know is blocked.
- retention: churn_probability × save_rate × max(clv_12m, 0) − cost (offer value when
  there is no CLV); blocked below ``min_churn`` or without a churn probability.
- up_sell: accept_rate × (1 − churn_probability) × value − cost.
- every kind: tier, segment, micro-segment and lifecycle-stage rules of ``eligible`` (a
  store without micro-segments or stages has every customer outside any named one; the
  stage is the one the answer shows: ``serving.profile.shown_stage``).

Each offer belongs to a campaign (``serving.catalogue.Campaign``). Offers are ranked by
``score``: the expected value, or, in a campaign with ``ranking: uplift`` whose offers the
store has uplift scores for (``uplift_<arm>`` columns, written by ``cintel materialize``
when a cintel-uplift champion exists), the incremental value uplift × value − cost (the
value at stake of a retention offer is the CLV, as above). A campaign falls back to
expected value for a customer when any of its eligible offers lacks an uplift score.
``response`` is each offer's expected response probability as the decision log records
it: the propensity (cross_sell), P(buying again) = 1 − churn + churn × save_rate
(retention), accept_rate × (1 − churn) (up_sell).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from serving.catalogue import Campaign, Catalogue, Offer, slug
from serving.profile import AT_RISK_CHURN, CHURN_MOVES

Columns = Mapping[str, np.ndarray]

# why an offer is blocked for a customer before any request (0 = not blocked)
OK, TIER, SEGMENT, NO_CHURN, LOW_CHURN, NO_CLV, UNKNOWN_FAMILY, BUYS, NO_PROPENSITY = range(9)
MICRO_SEGMENT = 9  # eligible.micro_segments leaves the customer's micro-segment out
STAGE = 10  # eligible.stages leaves the customer's lifecycle stage out
# priority class of a customer: none, by tier, by CLV
PRIO_NONE, PRIO_TIER, PRIO_CLV = 0, 1, 2
UPLIFT_PREFIX = "uplift_"
ANY_ARM = "any"  # cintel-uplift's arm of offers without a family (any purchase)


def floats(columns: Columns, name: str, n: int) -> np.ndarray:
    """A column as float64, NaN where missing or not a number (all NaN when absent)."""
    values = columns.get(name)
    if values is None:
        return np.full(n, np.nan)
    if values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False)
    out = np.full(n, np.nan)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def columns_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Column arrays from row mappings (a few rows: /score, Redis, one-customer helpers)."""
    keys = dict.fromkeys(k for row in rows for k in row)
    return {k: np.array([row.get(k) for row in rows], dtype=object) for k in keys}


def _labels(columns: Columns, name: str, n: int) -> np.ndarray:
    """A text column as an object array; None where missing, NaN or absent."""
    values = columns.get(name)
    if values is None:
        return np.full(n, None, dtype=object)
    out = np.asarray(values, dtype=object).copy()
    for i, v in enumerate(out):
        if isinstance(v, float) and math.isnan(v):
            out[i] = None
    return out


def _stages(columns: Columns, churn: np.ndarray, n: int) -> np.ndarray:
    """The lifecycle stage each answer shows (the churn rule applied to ``churn``)."""
    stage = _labels(columns, "lifecycle_stage", n)
    moves = np.isin(stage.astype(str), list(CHURN_MOVES)) & (churn >= AT_RISK_CHURN)
    return np.where(moves, "at risk", stage).astype(object)


def segment_ids(columns: Columns, n: int) -> np.ndarray:
    """The stable segment id per row (what ``eligible.segments`` names); a store written
    before segments had ids gets the slug of the segment's name, which was its id."""
    if "segment_id" in columns:
        return _labels(columns, "segment_id", n)
    names = _labels(columns, "segment", n)
    return np.array([None if v is None else slug(v) for v in names], dtype=object)


def _member(labels: np.ndarray, allowed: frozenset[Any]) -> np.ndarray:
    """labels[i] in allowed, computed once per distinct label."""
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    lut = np.array([u in allowed for u in uniques], dtype=bool)
    return cast(np.ndarray, lut[inverse.reshape(-1)] & (labels != None))  # noqa: E711  # elementwise


@dataclass(frozen=True)
class OfferTable:
    """Per customer (rows) and offer (columns, catalogue order), before any request."""

    offers: tuple[Offer, ...]
    ev: np.ndarray  # expected value (float64), NaN where blocked
    prob: np.ndarray  # the probability quoted in the reasons
    blocked: np.ndarray  # int8 code: OK or the first rule that blocks the offer
    prio: np.ndarray  # int8: PRIO_NONE, PRIO_TIER or PRIO_CLV
    churn: np.ndarray
    clv: np.ndarray
    tier: np.ndarray  # object
    segment: np.ndarray  # object: segment ids
    response: np.ndarray  # expected response probability (the decision log's)
    uplift: np.ndarray  # uplift of the offer's arm where its campaign ranks by uplift, else NaN
    score: np.ndarray  # what the offer is ranked by: expected or incremental value
    campaigns: tuple[tuple[str, Campaign], ...]  # (id, settings), catalogue order
    offer_campaign: np.ndarray  # int: index into campaigns, per offer
    by_uplift: np.ndarray  # bool (customers x campaigns): ranked by uplift for this customer
    micro: np.ndarray | None = None  # object: micro-segment ids (None: not stored)

    def __len__(self) -> int:
        return len(self.churn)


def uplift_arm(offer: Offer) -> str:
    """The cintel-uplift arm that scores ``offer``: its family, or ``any`` (retention)."""
    return offer.family if offer.family is not None else ANY_ARM


def offer_table(columns: Columns, catalogue: Catalogue, n: int | None = None) -> OfferTable:
    """Evaluate every offer of ``catalogue`` for every row of ``columns``."""
    if n is None:
        n = len(next(iter(columns.values()))) if columns else 0
    churn, clv = floats(columns, "churn_probability", n), floats(columns, "clv_12m", n)
    tier, segment = _labels(columns, "value_tier", n), segment_ids(columns, n)
    micro = _labels(columns, "micro_segment", n)
    stages: np.ndarray | None = None
    k = len(catalogue.offers)
    ev, prob = np.full((n, k), np.nan), np.full((n, k), np.nan)
    response, stake = np.full((n, k), np.nan), np.full((n, k), np.nan)
    blocked = np.zeros((n, k), dtype=np.int8)
    tier_in: dict[frozenset[str], np.ndarray] = {}

    def block(j: int, where: np.ndarray, code: int) -> None:
        np.copyto(blocked[:, j], np.int8(code), where=where & (blocked[:, j] == OK))

    for j, offer in enumerate(catalogue.offers):
        rule = offer.eligible
        if rule.tiers is not None:
            allowed = tier_in.setdefault(rule.tiers, _member(tier, rule.tiers))
            block(j, ~allowed, TIER)
        if rule.segments is not None:
            block(j, ~_member(segment, rule.segments), SEGMENT)
        if rule.micro_segments is not None:
            block(j, ~_member(micro, rule.micro_segments), MICRO_SEGMENT)
        if rule.stages is not None:
            stage = stages if stages is not None else (stages := _stages(columns, churn, n))
            block(j, ~_member(stage, rule.stages), STAGE)
        if offer.kind == "retention":
            assert offer.save_rate is not None
            block(j, np.isnan(churn), NO_CHURN)
            block(j, churn < offer.min_churn, LOW_CHURN)
            fallback = np.nan if offer.value is None else offer.value
            at_stake = np.where(np.isnan(clv), fallback, np.fmax(clv, 0.0))
            block(j, np.isnan(at_stake), NO_CLV)
            p = churn
            value = offer.save_rate * at_stake
            response[:, j] = 1.0 - churn + churn * offer.save_rate
            stake[:, j] = at_stake
        elif offer.kind == "up_sell":
            assert offer.value is not None and offer.accept_rate is not None
            p = offer.accept_rate * np.where(np.isnan(churn), 1.0, 1.0 - churn)
            value = np.full(n, offer.value)
            response[:, j] = p
        else:
            assert offer.value is not None and offer.family is not None
            fam = offer.family
            known = f"propensity_any__{fam}" in columns or f"propensity_first__{fam}" in columns
            if not known:
                block(j, np.ones(n, dtype=bool), UNKNOWN_FAMILY)
            if offer.first_time_only:
                block(j, np.nan_to_num(floats(columns, f"fam_count__{fam}", n)) > 0, BUYS)
            kind = "first" if offer.first_time_only else "any"
            p = floats(columns, f"propensity_{kind}__{fam}", n)
            block(j, np.isnan(p), NO_PROPENSITY)
            value = np.full(n, offer.value)
            response[:, j] = p
            stake[:, j] = offer.value
        prob[:, j] = p
        ev[:, j] = np.where(blocked[:, j] == OK, p * value - offer.cost, np.nan)
    campaigns, offer_campaign, uplift, score, by_uplift = _ranking(
        columns, catalogue, n, blocked, ev, stake
    )
    priority = catalogue.priority
    risky = churn >= priority.churn_min  # False for NaN
    by_tier = risky & _member(tier, frozenset(priority.tiers))
    by_clv = risky & ~by_tier & (clv >= priority.clv_min)
    prio = np.where(by_tier, PRIO_TIER, np.where(by_clv, PRIO_CLV, PRIO_NONE)).astype(np.int8)
    return OfferTable(
        catalogue.offers,
        ev,
        prob,
        blocked,
        prio,
        churn,
        clv,
        tier,
        segment,
        response,
        uplift,
        score,
        campaigns,
        offer_campaign,
        by_uplift,
        micro=micro,
    )


def _ranking(
    columns: Columns,
    catalogue: Catalogue,
    n: int,
    blocked: np.ndarray,
    ev: np.ndarray,
    stake: np.ndarray,
) -> tuple[tuple[tuple[str, Campaign], ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per campaign: ranked by uplift for which customers, and every offer's score."""
    ids = catalogue.campaign_ids
    campaigns = tuple((c, catalogue.campaign(c)) for c in ids)
    offer_campaign = np.array([ids.index(o.campaign) for o in catalogue.offers], dtype=np.int64)
    k = len(catalogue.offers)
    uplift = np.full((n, k), np.nan)
    by_uplift = np.zeros((n, len(ids)), dtype=bool)
    for c, (_, settings) in enumerate(campaigns):
        members = np.flatnonzero(offer_campaign == c)
        names = [UPLIFT_PREFIX + uplift_arm(catalogue.offers[j]) for j in members]
        if settings.ranking != "uplift" or not any(name in columns for name in names):
            continue  # no uplift champion scored the store: ranked by expected value
        ok = np.ones(n, dtype=bool)
        for j, name in zip(members, names, strict=True):
            uplift[:, j] = floats(columns, name, n)
            ok &= np.isfinite(uplift[:, j]) | (blocked[:, j] != OK)  # every eligible offer
        by_uplift[:, c] = ok
    ranked = by_uplift[:, offer_campaign]
    uplift = np.where(ranked, uplift, np.nan)
    cost = np.array([o.cost for o in catalogue.offers])
    incremental = np.where(blocked == OK, uplift * stake - cost, np.nan)
    score = np.where(ranked, incremental, ev)
    return campaigns, offer_campaign, uplift, score, by_uplift


def _pretty(family: str | None) -> str:
    return (family or "").replace("_", " ")


def priority_text(table: OfferTable, i: int) -> str | None:
    """Why customer ``i``'s retention offers come first ("gold tier", "CLV 1,200"), or None."""
    prio = table.prio[i]
    if prio == PRIO_TIER:
        return f"{table.tier[i]} tier"
    if prio == PRIO_CLV:
        return f"CLV {table.clv[i]:,.0f}"
    return None


def uplift_text(table: OfferTable, i: int, j: int) -> str | None:
    """The incremental-value arithmetic of an offer ranked by uplift, or None."""
    u = float(table.uplift[i, j])
    if math.isnan(u):
        return None
    offer, inc = table.offers[j], float(table.score[i, j])
    if offer.kind == "retention":
        clv = table.clv[i]
        value = f"{(offer.value or 0.0) if math.isnan(clv) else max(clv, 0.0):,.0f} CLV"
    else:
        value = f"{offer.value:.2f} margin"
    return (
        f"ranked by uplift: incremental value {inc:.2f} = {u:+.3f} uplift × {value} "
        f"− {offer.cost:.2f} cost"
    )


def reasons(table: OfferTable, i: int, j: int) -> list[str]:
    """The reasons of an offer that is made: the driver and the expected-value arithmetic
    (plus the incremental-value arithmetic when its campaign ranks by uplift)."""
    out = _ev_reasons(table, i, j)
    inc = uplift_text(table, i, j)
    return out if inc is None else [*out, inc]


def _ev_reasons(table: OfferTable, i: int, j: int) -> list[str]:
    offer, ev, p = table.offers[j], float(table.ev[i, j]), float(table.prob[i, j])
    if offer.kind == "retention":
        clv = table.clv[i]
        at_stake = offer.value if math.isnan(clv) else max(clv, 0.0)
        prio = priority_text(table, i)
        head = f"high churn risk {p:.2f} and {prio}" if prio else f"churn risk {p:.2f}"
        calc = f"{p:.2f} churn × {offer.save_rate:.0%} save rate × {at_stake:,.0f} CLV"
        return [head, f"expected value {ev:.2f} = {calc} − {offer.cost:.2f} cost"]
    if offer.kind == "up_sell":
        churn = table.churn[i]
        stay = 1.0 if math.isnan(churn) else 1.0 - churn
        head = f"{p:.0%} estimated acceptance ({offer.accept_rate:.0%} base × {stay:.2f} stay)"
    else:
        first = " for the first time" if offer.first_time_only else ""
        head = f"{p:.0%} chance to buy {_pretty(offer.family)}{first}"
    calc = f"{p:.0%} × {offer.value:.2f} margin − {offer.cost:.2f} cost"
    return [head, f"expected value {ev:.2f} = {calc}"]


def blocked_text(table: OfferTable, i: int, j: int) -> str:
    """Why offer ``j`` is blocked for customer ``i`` before any request."""
    offer, code = table.offers[j], table.blocked[i, j]
    fam = _pretty(offer.family)
    if code == TIER:
        return f"tier {table.tier[i] or 'unknown'} not allowed"
    if code == SEGMENT:
        return f"segment {table.segment[i] or 'unknown'} not allowed"
    if code == MICRO_SEGMENT:
        micro = None if table.micro is None else table.micro[i]
        return f"micro-segment {micro or 'unknown'} not allowed"
    if code == STAGE:
        return "lifecycle stage not allowed"
    if code == NO_CHURN:
        return "no churn probability"
    if code == LOW_CHURN:
        return f"churn risk {table.churn[i]:.2f} below {offer.min_churn:.2f}"
    if code == NO_CLV:
        return "no clv_12m"
    if code == UNKNOWN_FAMILY:
        return f"unknown family {offer.family}"
    if code == BUYS:
        return f"already buys {fam}"
    if code == NO_PROPENSITY:
        kind = "first" if offer.first_time_only else "any"
        return f"no {kind} propensity for {fam}"
    raise ValueError(f"offer {offer.id} is not blocked for row {i}")
