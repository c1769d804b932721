"""The closed loop without the service: decisions from the simulator's truth, simulated
outcomes and the response join (shared by the outcome, simulator and campaigns tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from training.data.contract import validate
from training.data.decision_log import DECISION_SCHEMA, decisions_frame
from training.data.outcomes import responses
from training.data.simulator.decisions import OfferSpec, build_decisions
from training.data.simulator.responses import (
    ANY_FAMILY,
    drifted,
    in_window,
    lookup_truth,
    simulate_outcomes,
)
from training.data.simulator.simulate import SynthConfig, SynthData, synthesize

FAMILIES = ("fresh_food", "bakery", "household", "electronics", "beauty", "wine")
OFFERS = (
    *(OfferSpec(f"xs_{f}", "cross_sell", f, value=5.0 + i) for i, f in enumerate(FAMILIES)),
    OfferSpec("retain_voucher", "retention", None, value=3.0),
)
CHANNELS = ("web", "store", "phone")
COSTS = {o.offer_id: 0.5 for o in OFFERS}


def world(n_customers: int = 4000, seed: int = 11) -> SynthData:
    return synthesize(SynthConfig(n_customers=n_customers, seed=seed))


def expected_frame(
    truth: pd.DataFrame, offers: tuple[OfferSpec, ...] = OFFERS, seed: int = 0
) -> pd.DataFrame:
    """Customers with the right expectations: each offer's expected response is the true
    p_buy_treated over its window (the models are perfect)."""
    wide = truth.pivot_table(
        index="customer_id", columns="family", values="p_buy_treated", observed=True
    )
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": wide.index.to_numpy(),
            "channel": np.array(CHANNELS)[rng.integers(0, len(CHANNELS), len(wide))],
        }
    )
    for o in offers:
        p = wide[o.family if o.kind == "cross_sell" else ANY_FAMILY].to_numpy()
        frame[f"er:{o.offer_id}"] = in_window(p, np.full(len(p), o.window_days))
    return frame


def decisions_of(records: list[dict[str, object]]) -> pd.DataFrame:
    return decisions_frame(pa.Table.from_pylist(records, schema=DECISION_SCHEMA))


@dataclass(frozen=True)
class Loop:
    decisions: pd.DataFrame
    responses: pd.DataFrame
    true_effect: pd.Series
    transactions: pd.DataFrame


def run_loop(
    data: SynthData,
    holdout: dict[str, float],
    seed: int,
    drift: float = 1.0,
    offers: tuple[OfferSpec, ...] = OFFERS,
    campaign_suffix: str = "",
) -> Loop:
    """Decide (with perfect expectations), simulate the outcomes, join them."""
    truth = data.ground_truth_responses
    frame = expected_frame(truth, offers, seed)
    if campaign_suffix:
        offers = tuple(
            OfferSpec(o.offer_id, o.kind, o.family, o.value, o.campaign_id + campaign_suffix)
            for o in offers
        )
        holdout = {k + campaign_suffix: v for k, v in holdout.items()}
    start = data.transactions["ts"].max().normalize() + pd.Timedelta(days=1)
    times = start + pd.to_timedelta(np.arange(len(frame)) % 3600, unit="s")
    records = build_decisions(frame, offers, holdout, pd.Series(times), seed=seed)
    decisions = decisions_of(records)
    clean = validate(data.transactions, data.customers, now=pd.Timestamp("2100-01-01"))
    out = simulate_outcomes(decisions, drifted(truth, drift), clean.transactions, seed=seed)
    tx = pd.concat([clean.transactions, out.purchases], ignore_index=True)
    tx["family"] = tx["family"].astype("category")
    ends = decisions["ts"] + pd.to_timedelta(decisions["response_window_days"], unit="D")
    rows = responses(decisions, tx, out.feedback, as_of=ends.max())  # the simulation covers it
    p = lookup_truth(rows, drifted(truth, drift))
    return Loop(decisions, rows, p["p_buy_treated"] - p["p_buy_control"], tx)
