"""Simulated churn data with a known answer: hand-built snapshots and transaction logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.churn import ChurnConfig, ChurnModel, fit
from training.data.contract import CleanData, validate
from training.data.snapshot import Snapshot

AS_OF = pd.Timestamp("2024-04-01")
FAMILIES = ("fresh", "bakery")
CHANNELS = ("store", "online")


def true_churn_probability(recency: np.ndarray) -> np.ndarray:
    """The known answer of ``frame_snapshot``: risk rises with days since the last purchase."""
    return 1.0 / (1.0 + np.exp(-(recency - 120.0) / 25.0))


def frame_snapshot(n: int, seed: int, *, labelled: bool = True) -> Snapshot:
    """A snapshot built by hand: churn depends on recency only; the rest is noise."""
    rng = np.random.default_rng(seed)
    recency = rng.uniform(1, 300, n).round()
    frequency = rng.poisson(4, n) + 1.0
    last90 = rng.gamma(2.0, 50.0, n) * (rng.uniform(size=n) < 0.7)
    prev90 = rng.gamma(2.0, 50.0, n) * (rng.uniform(size=n) < 0.8)
    fresh = rng.uniform(0, 1, n)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n) + seed * 1_000_000,
            "recency_days": recency,
            "frequency": frequency,
            "ipt_mean_days": np.where(frequency > 1, rng.uniform(5, 60, n), np.nan),
            "spend_last_90d": last90,
            "spend_prev_90d": prev90,
            "spend_trend": np.where(
                last90 + prev90 > 0, (last90 - prev90) / (last90 + prev90 + 1e-9), 0
            ),
            "return_rate": rng.beta(1, 8, n),
            "tenure_days": recency + rng.uniform(0, 700, n),
            "fam_share__fresh": fresh,
            "fam_share__bakery": 1 - fresh,
            "chan_share__store": rng.uniform(0, 1, n),
            "attr_region": rng.choice(["north", "south", "east"], n),
        }
    )
    if labelled:
        churn = (rng.uniform(size=n) < true_churn_probability(recency)).astype("float64")
        partial = np.where(prev90 > 0, np.maximum(churn, rng.uniform(size=n) < 0.2), np.nan)
        frame = frame.assign(label_churn=churn, label_partial_churn=partial.astype("float64"))
    return Snapshot(frame, AS_OF, 90, labelled, FAMILIES, CHANNELS)


def simulate_transactions(n: int, seed: int) -> CleanData:
    """Customers buy as Poisson processes until they silently die (exponential lifetime),
    so the ones who stopped are those with long gaps: churn is predictable from recency."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31")
    span = (end - start).days
    signup = rng.uniform(0, span - 200, n)
    death = signup + rng.exponential(250.0, n)
    rate = rng.gamma(2.0, 1 / 40.0, n)  # purchases per day, about one every 20 days
    active = np.clip(np.minimum(death, span) - signup, 0, None)
    counts = rng.poisson(rate * active) + 1
    owner = np.repeat(np.arange(n), counts)
    day = signup[owner] + rng.uniform(0, 1, owner.size) * np.repeat(active, counts)
    amount = np.round(rng.lognormal(3.0, 0.6, owner.size), 2)
    amount = np.where(rng.uniform(size=owner.size) < 0.05, -amount / 2, amount)
    tx = pd.DataFrame(
        {
            "customer_id": owner,
            "ts": start + pd.to_timedelta(day, unit="D"),
            "amount": amount,
            "margin": np.round(amount * 0.3, 2),
            "family": rng.choice(FAMILIES, owner.size),
            "channel": rng.choice(CHANNELS, owner.size),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "signup_date": start + pd.to_timedelta(signup.round(), unit="D"),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    return validate(tx, customers, now=end + pd.Timedelta(days=1))


@pytest.fixture(scope="package")
def train_snapshot() -> Snapshot:
    return frame_snapshot(3000, seed=1)


@pytest.fixture(scope="package")
def fitted(train_snapshot: Snapshot) -> ChurnModel:
    return fit(train_snapshot, ChurnConfig(seed=0))
