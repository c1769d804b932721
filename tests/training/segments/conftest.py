"""Snapshots with planted behavioural clusters and known margins for the segment tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.data.snapshot import Snapshot
from training.segments import SegmentsConfig, SegmentsModel, fit

FAMILIES = ("fresh_food", "bakery", "wine", "electronics")
CHANNELS = ("store", "online")
# name: (family mix, online share, weekend share)
PLANTED = {
    "wine_online": ((0.10, 0.10, 0.70, 0.10), 0.85, 0.70),
    "fresh_store": ((0.70, 0.20, 0.05, 0.05), 0.10, 0.20),
    "electronics_online": ((0.05, 0.05, 0.10, 0.80), 0.70, 0.30),
    "bakery_store": ((0.20, 0.65, 0.10, 0.05), 0.20, 0.50),
}


def planted_frame(n_per: int = 100, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Active customers drawn around four well-separated mixes, and their true cluster."""
    rng = np.random.default_rng(seed)
    parts, truth = [], []
    for name, (mix, online, weekend) in PLANTED.items():
        fam = rng.dirichlet(np.asarray(mix) * 60, size=n_per)
        onl = np.clip(rng.normal(online, 0.05, n_per), 0, 1)
        wkd = np.clip(rng.normal(weekend, 0.05, n_per), 0, 1)
        part = {f"fam_share__{f}": fam[:, j] for j, f in enumerate(FAMILIES)}
        part.update({"chan_share__store": 1 - onl, "chan_share__online": onl})
        part["weekend_share"] = wkd
        parts.append(pd.DataFrame(part))
        truth += [name] * n_per
    frame = pd.concat(parts, ignore_index=True)
    n = len(frame)
    freq = rng.integers(3, 30, n).astype("float64")
    mean = rng.gamma(4.0, 10.0, n)
    base = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "recency_days": rng.integers(1, 300, n).astype("float64"),
            "frequency": freq,
            "monetary_mean": mean,
            "gross_spend": freq * mean,
            "margin_365d": rng.normal(50.0, 40.0, n),
        }
    )
    return pd.concat([base, frame], axis=1), np.asarray(truth)


def snapshot_of(frame: pd.DataFrame) -> Snapshot:
    return Snapshot(frame, pd.Timestamp("2024-04-01"), 90, False, FAMILIES, CHANNELS)


@pytest.fixture(scope="module")
def planted() -> tuple[Snapshot, np.ndarray, SegmentsModel]:
    frame, truth = planted_frame()
    snap = snapshot_of(frame)
    return snap, truth, fit(snap, SegmentsConfig(random_state=1))
