"""Randomized offer responses with a known heterogeneous effect, in the responses contract.

Customers and their history come from the simulator; at a decision time shortly after
``STORE_AS_OF`` each customer is offered, per arm, one offer at random (``treated_share``
treated, the rest a control group). Every customer has a response type per arm, decided by
their features at ``STORE_AS_OF`` (plus some noise, so no rule is exact):

- sure thing: a frequent recent buyer of the family (any arm: any family) buys anyway;
- sleeping dog: a mostly-online customer (arm ``any``: from the north or east) who would buy, and
  is put off by the offer;
- lost cause: lapsed for more than 150 days: buys with or without it;
- persuadable: everyone else buys mostly when offered.

The ``expected_response`` column is the true baseline probability (without the offer): a
perfect propensity model, which ranks sure things and sleeping dogs first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.data.contract import CleanData, validate
from training.data.features import compute_features
from training.data.simulator.simulate import SynthConfig, synthesize

STORE_AS_OF = pd.Timestamp("2025-05-01")
END = "2025-06-30"
TYPES = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")
# (p_buy_control, p_buy_treated) per type
P_BUY = {
    "persuadable": (0.06, 0.40),
    "sure_thing": (0.60, 0.62),
    "lost_cause": (0.03, 0.04),
    "sleeping_dog": (0.45, 0.12),
}
NO_EFFECT = {t: (0.25, 0.30) for t in TYPES}  # the same effect for everyone: nothing to learn


@dataclass(frozen=True)
class Synthetic:
    """The data, the responses rows, their decisions' store_as_of and the truth per row."""

    data: CleanData
    responses: pd.DataFrame
    decisions: pd.DataFrame
    truth: pd.DataFrame  # customer_id, arm, response_type, p_control, p_treated


def _types(features: pd.DataFrame, arm: str, rng: np.random.Generator, noise: float) -> np.ndarray:
    if arm == "any":
        sure = (features["frequency"] >= 20) & (features["recency_days"] < 30)
        dog = features["attr_region"].astype(str).isin(["north", "east"])
    else:
        sure = (features[f"fam_count__{arm}"] >= 4) & (features["recency_days"] < 45)
        dog = features["chan_share__online"] > 0.6
    lost = features["recency_days"].fillna(999) > 150
    kind = np.select([lost, sure, dog], ["lost_cause", "sure_thing", "sleeping_dog"], "persuadable")
    flip = rng.random(len(kind)) < noise
    return np.where(flip, rng.choice(TYPES, size=len(kind)), kind).astype(object)


def synthetic(
    n_customers: int = 4000,
    seed: int = 0,
    arms: tuple[str, ...] = ("bakery", "any"),
    treated_share: float = 0.5,
    noise: float = 0.1,
    effects: dict[str, tuple[float, float]] | None = None,
    matured_share: float = 1.0,
    end: str = END,
) -> Synthetic:
    """Responses for ``arms`` (family slugs, ``any`` = a retention offer) of every customer
    known at STORE_AS_OF; ``matured_share`` of the decisions have matured. The data's
    transactions end at ``end`` (before STORE_AS_OF: add the responses' purchases with
    ``with_response_purchases``)."""
    effects = P_BUY if effects is None else effects
    sim = synthesize(SynthConfig(n_customers=n_customers, start="2024-01-01", end=end, seed=seed))
    data = validate(sim.transactions, sim.customers)
    features = compute_features(
        data.transactions, data.customers, STORE_AS_OF, families=data.families,
        channels=data.channels,
    )  # fmt: skip
    rng = np.random.default_rng(seed + 1000)
    n = len(features)
    ts = STORE_AS_OF + pd.to_timedelta(rng.uniform(0, 14 * 24, size=n), unit="h")
    decision_ids = np.array([f"{seed:04x}{i:028x}" for i in range(n)])
    parts, truth = [], []
    for arm in arms:
        kind = _types(features, arm, rng, noise)
        p_c = np.array([effects[k][0] for k in kind])
        p_t = np.array([effects[k][1] for k in kind])
        treated = rng.random(n) < treated_share
        responded = rng.random(n) < np.where(treated, p_t, p_c)
        family = None if arm == "any" else arm
        parts.append(
            pd.DataFrame(
                {
                    "decision_id": decision_ids,
                    "ts": ts.tz_localize("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "customer_id": features["customer_id"].astype(str).to_numpy(),
                    "channel": "web",
                    "campaign": "retention" if arm == "any" else "cross_sell",
                    "offer_id": "retain_voucher" if arm == "any" else f"xs_{arm}_intro",
                    "family": family,
                    "kind": "retention" if arm == "any" else "cross_sell",
                    "group": np.where(treated, "treated", "control"),
                    "expected_response": p_c,
                    "expected_value": 1.0,
                    "response_window_days": 30,
                    "responded": responded,
                    "response_margin": np.where(responded, 5.0, 0.0),
                    "matured": rng.random(n) < matured_share,
                    "feedback": None,
                }
            )
        )
        truth.append(
            pd.DataFrame(
                {
                    "customer_id": features["customer_id"].to_numpy(),
                    "arm": arm,
                    "response_type": kind,
                    "p_control": p_c,
                    "p_treated": p_t,
                }
            )
        )
    decisions = pd.DataFrame(
        {"decision_id": decision_ids, "store_as_of": f"{STORE_AS_OF:%Y-%m-%d}"}
    )
    return Synthetic(
        data, pd.concat(parts, ignore_index=True), decisions, pd.concat(truth, ignore_index=True)
    )


def with_response_purchases(syn: Synthetic) -> pd.DataFrame:
    """The data's transactions plus one purchase per responder, 3 days after the decision
    (of the offer's family; ``any``: the first family), and one late purchase that makes the
    data cover every response window. For data that ends before STORE_AS_OF."""
    tx = syn.data.transactions
    rows = syn.responses[syn.responses["responded"]]
    family = rows["family"].fillna(syn.data.families[0])
    ts = pd.to_datetime(rows["ts"], utc=True).dt.tz_convert(None) + pd.Timedelta(days=3)
    ids = rows["customer_id"].astype(tx["customer_id"].dtype)
    added = pd.DataFrame(
        {
            "customer_id": [*ids, ids.iloc[0]],
            "ts": [*ts, STORE_AS_OF + pd.Timedelta(days=80)],
            "amount": 10.0,
            "margin": 5.0,
            "family": [*family, syn.data.families[0]],
            "channel": "online",
            "quantity": 1,
        }
    )
    out = pd.concat([tx.astype({"family": str, "channel": str}), added], ignore_index=True)
    return out.sort_values(["customer_id", "ts"], kind="stable").reset_index(drop=True)


def decision_records(syn: Synthetic) -> list[dict[str, object]]:
    """The decision log of the responses, one record per decision, in issue 14's layout."""
    records: dict[str, dict[str, object]] = {}
    for row in syn.responses.itertuples(index=False):
        rec = records.setdefault(
            row.decision_id,
            {
                "decision_id": row.decision_id,
                "ts": row.ts,
                "endpoint": "/profile",
                "customer_id": row.customer_id,
                "channel": row.channel,
                "store_as_of": f"{STORE_AS_OF:%Y-%m-%d}",
                "versions": {"churn": "1", "propensity": "1"},
                "offers": [],
                "held_out": [],
                "assignment": {},
                "ranking": {},
            },
        )
        offer = {
            "offer_id": row.offer_id,
            "campaign": row.campaign,
            "family": row.family,
            "kind": row.kind,
            "expected_response": float(row.expected_response),
            "expected_value": float(row.expected_value),
            "response_window_days": int(row.response_window_days),
        }
        rec["assignment"][row.campaign] = row.group  # type: ignore[index]
        rec["ranking"][row.campaign] = "expected_value"  # type: ignore[index]
        if row.group == "treated":
            shown = rec["offers"]
            shown.append({**offer, "rank": len(shown) + 1})  # type: ignore[attr-defined]
        else:
            del offer["campaign"]
            rec["held_out"].append({"campaign": row.campaign, "offers": [offer]})  # type: ignore[attr-defined]
    return list(records.values())
