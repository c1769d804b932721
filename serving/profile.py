"""The customer-360 part of an answer from one flat store row (pure, no pandas, no BentoML).

It does not depend on the request, so the file store renders it once per customer
(``render_profile``) and every answer splices the same bytes (``serving.answers.render``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import orjson

from serving.catalogue import slug
from training.economics.lifecycle import LifecycleRules

AT_RISK_CHURN = LifecycleRules().at_risk_churn
CHURN_MOVES = frozenset({"active", "developing", "won back"})  # stages after rule 3
PROB_ANY, PROB_FIRST = "propensity_any__", "propensity_first__"
SEGMENT_PROB = "segment_prob__"
REASON_SEPARATOR = "; "


def _num(value: Any) -> float | None:
    if value.__class__ is float:
        return value if value == value else None  # NaN is not equal to itself
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@lru_cache(maxsize=64)
def _layout(keys: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str]]]:
    """Propensity families and (segment, column) pairs of a row layout (store rows share
    one layout, so this runs once per store, not per request)."""
    families = sorted(k[len(PROB_ANY) :] for k in keys if k.startswith(PROB_ANY))
    segments = [(k[len(SEGMENT_PROB) :], k) for k in keys if k.startswith(SEGMENT_PROB)]
    return families, segments


def _slug(name: Any) -> str | None:
    """The id a segment had before ids were stored: its name's slug."""
    return None if name is None or name != name else slug(name)


def consistent_alive(prob_alive: float | None, churn: float | None) -> float | None:
    """P(alive) no lower than 1 − P(churn): a customer who has dropped out buys nothing, so
    P(dead) ≤ P(no purchase in the churn horizon). The two come from different models
    (cintel-clv's alive model on the purchase history, cintel-churn calibrated on outcomes);
    where the alive model is more pessimistic than the calibrated churn risk allows, the
    profile shows the bound. A high P(alive) beside a high churn risk is no contradiction:
    alive but slow (few expected purchases in the horizon)."""
    if prob_alive is None or churn is None:
        return prob_alive
    return max(prob_alive, 1.0 - churn)


def _reasons(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [r for r in str(value or "").split(REASON_SEPARATOR) if r]


def build_profile(row: dict[str, Any]) -> dict[str, Any]:
    """The customer-360 part of the answer (everything but versions, cold_start, offers)."""
    families, segments = _layout(tuple(row))
    propensity = {
        fam: {
            "any": _num(row.get(PROB_ANY + fam)),
            "first_time": _num(row.get(PROB_FIRST + fam)),
        }
        for fam in families
    }
    memberships = {name: _num(row[key]) for name, key in segments}
    segment = row.get("segment")
    segment_id = row.get("segment_id", _slug(segment))  # a store from before segment ids
    churn = _num(row.get("churn_probability"))
    return {
        "customer_id": str(row["customer_id"]),
        # the customer's own as_of: the store's, or the day after their latest event
        "as_of": row.get("as_of"),
        "churn": {
            "probability": churn,
            "reasons": _reasons(row.get("churn_reasons")),
            "partial_probability": _num(row.get("churn_partial_probability")),
            "partial_reasons": _reasons(row.get("churn_partial_reasons")),
        },
        "prob_alive": consistent_alive(_num(row.get("prob_alive")), churn),
        "expected_purchases": _num(row.get("expected_purchases")),
        "clv": {
            "value_3m": _num(row.get("clv_3m")),
            "value_6m": _num(row.get("clv_6m")),
            "value_12m": _num(row.get("clv_12m")),
            "p10_12m": _num(row.get("clv_12m_p10")),
            "p90_12m": _num(row.get("clv_12m_p90")),
            "model": row.get("clv_model"),
        },
        "value_tier": row.get("value_tier"),
        "rfm": {
            "recency": row.get("rfm_r"),
            "frequency": row.get("rfm_f"),
            "monetary": row.get("rfm_m"),
            "score": row.get("rfm_score"),
        },
        "segment": {"name": segment, "id": segment_id, "probabilities": memberships},
        "propensity": propensity,
        "economics": _economics(row),
        "potential": {
            "value_12m": _num(row.get("potential_value_12m")),
            "share_of_wallet": _num(row.get("share_of_wallet")),
            "headroom": _num(row.get("potential_headroom")),
        },
        "lifecycle": _lifecycle(row, churn),
        **_cells(row),
    }


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    """The value x potential x needs cell with its strategy, and the micro-segment
    (``training.economics.cells``); nulls for a store from before them or a /score customer."""
    cell = row.get("cell")
    parts = cell.split("/", 2) if isinstance(cell, str) else [None, None, None]
    return {
        "cell": {
            "id": cell,
            "value": parts[0],
            "potential": row.get("potential_level"),
            "needs": parts[2],
            "strategy": row.get("cell_strategy"),
        },
        "micro_segment": {"id": row.get("micro_segment")},
    }


def _lifecycle(row: dict[str, Any], churn: float | None) -> dict[str, Any]:
    """The stored stage, with the churn rule of ``training.economics.lifecycle`` applied to
    the churn score of this answer: active, developing and won-back customers whose churn
    risk reaches ``at_risk_churn`` are at risk since the store's as_of."""
    stage, since = row.get("lifecycle_stage"), row.get("lifecycle_since")
    if stage in CHURN_MOVES and churn is not None and churn >= AT_RISK_CHURN:
        stage, since = "at risk", row.get("lifecycle_as_of", since)
    return {"stage": stage, "since": since}


def _economics(row: dict[str, Any]) -> dict[str, Any]:
    """The P&L of the last 12 months; ``costs`` says where the costs came from."""
    source = row.get("costs_file")
    if source is None:  # a store from before the economics, or a /score customer
        costs = None
    else:
        costs = source or "none: no costs.yaml in the data folder, every cost is 0"
    return {
        "net_contribution_12m": _num(row.get("net_contribution_12m")),
        "margin_12m": _num(row.get("margin_12m")),
        "returns_12m": _num(row.get("returns_12m")),
        "cost_to_serve_12m": _num(row.get("cost_to_serve_12m")),
        "contact_cost_12m": _num(row.get("contact_cost_12m")),
        "acquisition_cost": _num(row.get("acquisition_cost")),
        "costs": costs,
    }


def render_profile(row: dict[str, Any]) -> bytes:
    """``build_profile`` as JSON (NaN as null)."""
    return orjson.dumps(build_profile(row))
