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
from training.data.snapshot import Snapshot

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


@dataclass(frozen=True)
class UpliftWorld:
    """The demo's loop without the service: first-time cross-sell offers to every customer
    who has not bought the family, half of them held out, outcomes from the truth; the
    uplift tables and each (customer, offer) row's true effect."""

    train: Snapshot
    held: Snapshot
    responses: pd.DataFrame  # with ``true_effect`` (p_buy_treated − p_buy_control)


def uplift_world(n_customers: int, seed: int, holdout: float = 0.5) -> UpliftWorld:
    """Expected responses are the true no-offer probabilities (``p_buy_control``): a perfect
    propensity model of how customers buy without an offer, the ranking to beat."""
    from training.data.features import compute_features
    from training.uplift import tables_from_responses

    data = synthesize(SynthConfig(n_customers=n_customers, seed=seed))
    clean = validate(data.transactions, data.customers, now=pd.Timestamp("2100-01-01"))
    as_of = clean.transactions["ts"].max().normalize() + pd.Timedelta(days=1)
    bought = compute_features(clean.transactions, clean.customers, as_of).set_index("customer_id")
    truth = data.ground_truth_responses
    wide = truth.pivot_table(
        index="customer_id", columns="family", values="p_buy_control", observed=True
    )
    families = [f for f in wide.columns if f != ANY_FAMILY]
    offers = tuple(
        OfferSpec(f"xs_{f}", "cross_sell", f, value=5.0 + i) for i, f in enumerate(families)
    )
    frame = pd.DataFrame({"customer_id": wide.index.to_numpy(), "channel": "web"})
    counts = bought.reindex(wide.index)
    for o in offers:
        first_time = counts[f"fam_count__{o.family}"].fillna(0).to_numpy() == 0
        p = in_window(wide[o.family].to_numpy(), np.full(len(wide), o.window_days))
        frame[f"er:{o.offer_id}"] = np.where(first_time, p, np.nan)
    ts = pd.Series([as_of + pd.Timedelta(hours=1)] * len(frame))
    records = build_decisions(
        frame, offers, {"cross_sell": holdout}, ts, store_as_of=f"{as_of:%Y-%m-%dT%H:%M:%S}",
        seed=seed,
    )  # fmt: skip
    decisions = decisions_of(records)
    out = simulate_outcomes(decisions, truth, clean.transactions, seed=seed)
    tx = pd.concat([clean.transactions, out.purchases], ignore_index=True)
    after = validate(tx, clean.customers, now=pd.Timestamp("2100-01-01"))
    rows = responses(
        decisions, after.transactions, out.feedback, as_of=as_of + pd.Timedelta(days=31)
    )
    known = lookup_truth(rows, truth)
    rows = rows.assign(true_effect=(known["p_buy_treated"] - known["p_buy_control"]).to_numpy())
    train, held = tables_from_responses(after, rows, decisions=decisions)
    return UpliftWorld(train, held, rows)
