"""Small generated shops where region 'x' customers buy family 'b' and others rarely do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.data.contract import CleanData, validate
from training.data.snapshot import Snapshot, build_snapshot
from training.propensity import PropensityModel, fit

START = pd.Timestamp("2024-01-01")
AS_OF = pd.Timestamp("2024-09-01")
HORIZON = 90
N_DAYS = 430  # covers AS_OF + 2 horizons, for the out-of-time evaluation snapshot


def shop_tables(
    n: int = 600, families: tuple[str, ...] = ("a", "b", "c"), seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchase days ~ Poisson; each day buys 'a' (p .8), 'b' (p .6 in region x, else .03)
    and 'c' (p .3); 'age_band' and 'channel' are noise."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:04d}" for i in range(n)])
    region = np.where(np.arange(n) % 2 == 0, "x", "y")
    rate = rng.uniform(4, 14, n) / 365
    n_days = rng.poisson(rate * N_DAYS)
    cust = np.repeat(np.arange(n), n_days)
    day = rng.integers(0, N_DAYS, len(cust))
    p = {"a": np.full(len(cust), 0.8), "c": np.full(len(cust), 0.3)}
    p["b"] = np.where(region[cust] == "x", 0.6, 0.03)
    rows = []
    for f in families:
        take = rng.random(len(cust)) < p.get(f, 0.5)
        rows.append(pd.DataFrame({"i": cust[take], "day": day[take], "family": f}))
    lines = pd.concat(rows, ignore_index=True)
    tx = pd.DataFrame(
        {
            "customer_id": ids[lines["i"]],
            "ts": START + pd.to_timedelta(lines["day"], unit="D") + pd.Timedelta(hours=10),
            "amount": rng.gamma(2.0, 10.0, len(lines)).round(2) + 1,
            "family": lines["family"],
            "channel": rng.choice(["store", "online"], len(lines)),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": START - pd.Timedelta(days=30),
            "region": region,
            "age_band": rng.choice(["young", "old"], n),
        }
    )
    return tx, customers


def clean(tx: pd.DataFrame, customers: pd.DataFrame) -> CleanData:
    return validate(tx, customers, now=pd.Timestamp("2030-01-01"))


@pytest.fixture(scope="package")
def shop() -> CleanData:
    return clean(*shop_tables())


@pytest.fixture(scope="package")
def snapshots(shop: CleanData) -> tuple[Snapshot, Snapshot]:
    """Training snapshot at AS_OF and the out-of-time one a horizon later."""
    later = AS_OF + pd.Timedelta(days=HORIZON)
    return (
        build_snapshot(shop, AS_OF, HORIZON, require_labels=True),
        build_snapshot(shop, later, HORIZON, require_labels=True),
    )


@pytest.fixture(scope="package")
def model(snapshots: tuple[Snapshot, Snapshot]) -> PropensityModel:
    return fit(snapshots[0])
