"""Outbound campaign lists: retention or cross-sell targets in priority order, vectorised."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from serving.catalogue import Catalogue, Kind, default_catalogue, slug
from serving.offer_table import OK, offer_table, reasons
from serving.offers import OfferContext, request_rules

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
    kind: Kind = "retention" if campaign == "retention" else "cross_sell"
    n = len(profiles)
    if not catalogue.of_kind(kind) or n == 0:
        return pd.DataFrame(columns=COLUMNS)
    table = offer_table({c: profiles[c].to_numpy() for c in profiles.columns}, catalogue, n)
    chan = None if channel is None else slug(channel)
    rules = request_rules(catalogue, OfferContext(channel=chan))
    in_campaign = np.array([o.kind == kind for o in catalogue.offers]) & rules.allowed
    good = (table.blocked == OK) & (table.ev > 0) & in_campaign
    ev = np.where(good, table.ev, -np.inf)
    best = np.argmax(ev, axis=1)  # first best: catalogue order on ties, as in rank_offers
    best_ev = ev[np.arange(n), best]
    churn, clv = table.churn, table.clv
    score = churn * np.fmax(clv, 0.0) if campaign == "retention" else best_ev
    score = np.where(np.isnan(score), 0.0, score)
    cand = np.flatnonzero(best_ev > -np.inf)
    rows = cand[np.argsort(-score[cand], kind="stable")[:top]]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(rows) + 1),
            "customer_id": profiles["customer_id"].to_numpy()[rows],
            "offer_id": [catalogue.offers[best[i]].id for i in rows],
            "score": score[rows],
            "churn_probability": churn[rows],
            "clv_12m": clv[rows],
            "value_tier": table.tier[rows],
            "reasons": ["; ".join(reasons(table, i, int(best[i]))) for i in rows],
        }
    )
