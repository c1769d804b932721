"""Outbound campaign lists: retention, cross-sell, upgrade or win-back targets in priority
order, vectorised (upgrade and win-back: ``serving.batch.targets_value``). ``strategies``
keeps the customers whose cell strategy (``cell_strategy``, cells.yaml) is one of them.

Each listed customer's offer belongs to a campaign with a control group
(``training.data.holdout``): the list keeps those customers, marked ``group = control``, so the
campaigns report can compare; they are not to be contacted. ``cintel targets`` writes a
decision record per listed customer (``decision_lines``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import orjson
import pandas as pd

from serving import decisions
from serving.batch.targets_value import MissingColumns, value_of, value_reason
from serving.catalogue import Catalogue, Kind, default_catalogue, slug
from serving.offer_table import OK, floats, offer_table, reasons
from serving.offers import OfferContext, request_rules
from training.data.holdout import control_mask

Campaign = Literal["retention", "cross-sell", "upgrade", "win-back"]
CAMPAIGNS = ("retention", "cross-sell", "upgrade", "win-back")
Risk = Literal["total", "partial"]
# the store column a retention list aims at, by ``cintel targets --churn``
RISK_COLUMNS = {"total": "churn_probability", "partial": "churn_partial_probability"}
PARTIAL = RISK_COLUMNS["partial"]
COLUMNS = [
    "rank",
    "customer_id",
    "group",
    "campaign",
    "offer_id",
    "score",
    "expected_value",
    "expected_response",
    "uplift",
    "ranking",
    "churn_probability",
    "clv_12m",
    "value_tier",
    "cell_strategy",
    "micro_segment",
    "reasons",
]


def campaign_targets(
    profiles: pd.DataFrame,
    campaign: Campaign,
    top: int,
    catalogue: Catalogue | None = None,
    channel: str | None = None,
    risk: Risk = "total",
    strategies: Sequence[str] | None = None,
    min_value: float = 0.0,
) -> pd.DataFrame:
    """The ``top`` customers, best first, with their best offer of the campaign kind.

    retention: customers with at least one retention offer of positive score, ordered by
    churn_probability × max(clv_12m, 0) (by the best offer's incremental value when its
    campaign ranks by uplift); the offer is the one with the highest score (the expected
    value, or the incremental value under uplift ranking). cross-sell: ordered by the
    best cross-sell offer's score. Ties keep the input order. Contact caps are not applied
    here. ``group`` is the customer's group in the offer's campaign: ``control`` members
    are listed (the comparison group of the same ranking) but are not to be contacted.

    ``risk`` "partial" aims a retention list at partial churners: the offers' churn rules
    (``min_churn``, the expected value, the priority) and the ranking take the
    cintel-churn-partial probability (``churn_partial_probability``) in place of the total
    churn one, and the list gets a ``churn_partial_probability`` column beside it.
    upgrade and win-back: ``serving.batch.targets_value`` (``min_value``: win-back's).
    """
    if campaign not in CAMPAIGNS:
        raise ValueError(f"campaign must be one of {', '.join(CAMPAIGNS)}, got {campaign!r}")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if "customer_id" not in profiles:
        raise ValueError("profiles: missing column 'customer_id'")
    if risk not in RISK_COLUMNS:
        raise ValueError(f"risk must be 'total' or 'partial', got {risk!r}")
    if risk == "partial" and campaign != "retention":
        raise ValueError("partial churners are a retention list: use --campaign retention")
    if risk == "partial" and PARTIAL not in profiles:
        raise ValueError(
            f"the store has no partial-churn scores ({PARTIAL}): train the partial head "
            "(`cintel train --churn partial`) and run `cintel materialize` again"
        )
    catalogue = catalogue or default_catalogue()
    by_campaign: dict[str, tuple[Kind, ...]] = {
        "retention": ("retention",),
        "cross-sell": ("cross_sell",),
        "upgrade": ("cross_sell", "up_sell"),
        "win-back": ("retention",),
    }
    kinds = by_campaign[campaign]
    n = len(profiles)
    if strategies is not None and "cell_strategy" not in profiles:
        raise ValueError(
            "--strategy needs the cells of the store (cell_strategy): run `cintel materialize` "
            "again (with CINTEL_ECONOMICS on)"
        )
    if not any(catalogue.of_kind(k) for k in kinds) or n == 0:
        return pd.DataFrame(columns=_columns(risk))
    columns = {c: profiles[c].to_numpy() for c in profiles.columns}
    total = floats(columns, RISK_COLUMNS["total"], n)
    columns["churn_probability"] = columns[RISK_COLUMNS[risk]]
    table = offer_table(columns, catalogue, n)
    chan = None if channel is None else slug(channel)
    rules = request_rules(catalogue, OfferContext(channel=chan))
    everyone = np.arange(n)
    churn, clv = table.churn, table.clv
    if campaign in ("upgrade", "win-back"):
        try:
            scores, score = value_of(campaign, min_value)(columns, table, rules.allowed)
        except MissingColumns as exc:
            raise ValueError(str(exc)) from None
        best = np.argmax(scores, axis=1)
        best_score = scores[everyone, best]
    else:
        in_campaign = np.array([o.kind in kinds for o in catalogue.offers]) & rules.allowed
        good = (table.blocked == OK) & (table.score > 0) & in_campaign
        scores = np.where(good, table.score, -np.inf)
        best = np.argmax(scores, axis=1)  # first best: catalogue order on ties, as in rank_offers
        best_score = scores[everyone, best]
        by_uplift = table.by_uplift[everyone, table.offer_campaign[best]]
        score = best_score
        if campaign == "retention":
            score = np.where(by_uplift, best_score, churn * np.fmax(clv, 0.0))
    score = np.where(np.isnan(score), 0.0, score)
    keep = best_score > -np.inf
    if strategies is not None:
        keep &= np.isin(profiles["cell_strategy"].to_numpy(dtype=object), list(strategies))
    cand = np.flatnonzero(keep)
    rows = cand[np.argsort(-score[cand], kind="stable")[:top]]
    ids = profiles["customer_id"].to_numpy()[rows]
    chosen = best[rows]
    campaigns = np.array([catalogue.offers[j].campaign for j in chosen], dtype=object)
    control = np.zeros(len(rows), dtype=bool)
    for cid in dict.fromkeys(campaigns.tolist()):
        members = campaigns == cid
        control[members] = control_mask(ids[members], cid, catalogue.campaign(cid).holdout)
    uplift = table.uplift[rows, chosen]
    aimed = {} if risk == "total" else {PARTIAL: churn[rows]}
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(rows) + 1),
            "customer_id": ids,
            "group": np.where(control, decisions.CONTROL, decisions.TREATED),
            "campaign": campaigns,
            "offer_id": [catalogue.offers[j].id for j in chosen],
            "score": score[rows],
            "expected_value": (
                scores[rows, chosen] if campaign == "win-back" else table.ev[rows, chosen]
            ),
            "expected_response": table.response[rows, chosen],
            "uplift": uplift,
            "ranking": np.where(np.isnan(uplift), "expected_value", "uplift"),
            "churn_probability": total[rows],
            **aimed,
            "clv_12m": clv[rows],
            "value_tier": table.tier[rows],
            "cell_strategy": _optional(profiles, "cell_strategy", rows),
            "micro_segment": _optional(profiles, "micro_segment", rows),
            "reasons": [
                "; ".join(
                    [*value_reason(campaign, columns, table, i, int(best[i]), float(score[i]))]
                    + ([] if campaign == "win-back" else reasons(table, i, int(best[i])))
                )
                for i in rows
            ],
        }
    )


def _columns(risk: Risk) -> list[str]:
    """The list's columns: COLUMNS, with the partial-churn probability after the total."""
    if risk == "total":
        return COLUMNS
    at = COLUMNS.index("churn_probability") + 1
    return [*COLUMNS[:at], PARTIAL, *COLUMNS[at:]]


def decision_lines(
    targets: pd.DataFrame,
    catalogue: Catalogue,
    meta: Mapping[str, object],
    ts: str,
    channel: str | None = None,
) -> list[bytes]:
    """One decision record per listed customer (``endpoint: "targets"``): the offer shown
    (rank 1) to a treated customer, withheld (``held_out``) from a control member."""
    by_id = {o.id: o for o in catalogue.offers}
    versions = meta.get("versions") or {}
    head = decisions.request_head(
        "targets",
        None if channel is None else slug(channel),
        None if meta.get("as_of") is None else str(meta["as_of"]),
        versions if isinstance(versions, dict) else {},
    )
    ids = targets["customer_id"].astype(str).to_numpy()
    groups = {
        cid: control_mask(ids, cid, catalogue.campaign(cid).holdout)
        for cid in catalogue.campaign_ids
    }
    lines = []
    for i, row in enumerate(targets.itertuples(index=False)):
        offer = by_id[str(row.offer_id)]
        entry = orjson.dumps(
            {
                "offer_id": offer.id,
                "campaign": offer.campaign,
                "family": offer.family,
                "kind": offer.kind,
                "expected_response": _num(row.expected_response),
                "expected_value": _num(row.expected_value),
                "response_window_days": catalogue.campaign(offer.campaign).response_window_days,
                "uplift": _num(row.uplift),
            }
        )
        treated = row.group == decisions.TREATED
        tail = orjson.dumps(
            {
                "assignment": {
                    cid: decisions.CONTROL if mask[i] else decisions.TREATED
                    for cid, mask in groups.items()
                },
                "ranking": {offer.campaign: str(row.ranking)},
            }
        )[1:]
        lines.append(
            decisions.record_line(
                decisions.new_decision_id(),
                ts,
                head,
                orjson.dumps(str(row.customer_id)),
                decisions.ranked([entry[1:]]) if treated else b"",
                b"" if treated else decisions.held_out_json(offer.campaign, [entry]),
                tail,
            )
        )
    return lines


def _optional(profiles: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    """A store column at ``rows`` (None throughout for a store without it)."""
    if name not in profiles:
        return np.full(len(rows), None, dtype=object)
    values: np.ndarray = profiles[name].to_numpy(dtype=object)[rows]
    return values


def _num(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return None if number != number else round(number, 6)
