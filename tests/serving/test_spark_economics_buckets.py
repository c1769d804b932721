"""The Spark engine's economics without Spark: priced bucket by bucket (any split of the
customers, rows in any order) and cut on the driver, they equal ``materialize``'s
``with_economics`` + ``with_cells`` on the whole table, tiers re-cut on net contribution too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from serving.batch.materialize import with_economics
from serving.batch.materialize_cells import with_cells
from serving.batch.spark_economics import bucket_economics, with_economics_arrow
from serving.settings import ServiceSettings
from tests.agreement import assert_frames_agree
from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import build_snapshot
from training.economics import economics_columns
from training.economics.cells_config import CellsConfig
from training.economics.costs import parse_costs

COSTS = parse_costs(
    {
        "per_order": {"default": 0.5, "store": 2.0, "online": 1.0},
        "per_return": 4.0,
        "acquisition": {"by": "acquisition_channel", "costs": {"default": 10.0, "web": 25.0}},
    },
    "costs.yaml",
)
SHARES = (0.05, 0.15, 0.3)


@pytest.fixture(scope="module")
def scored() -> tuple[CleanData, pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """(data, features, profiles as a scorer would give them, as_of) for 400 customers."""
    sim = synthesize(SynthConfig(n_customers=400, end="2025-06-30", seed=3))
    data = validate(sim.transactions, sim.customers)
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    rng = np.random.default_rng(0)
    n = len(features)
    headroom = np.where(rng.random(n) < 0.2, 0.0, rng.gamma(2.0, 50.0, n))
    profiles = pd.DataFrame(
        {
            "customer_id": features["customer_id"].to_numpy(),
            "value_tier": rng.choice(["platinum", "gold", "silver", "bronze"], n).astype(object),
            "segment_id": rng.choice(["a", "b", "c"], n).astype(object),
            "potential_headroom": headroom,
            "share_of_wallet": rng.random(n),
        }
    )
    return data, features, profiles, snap.as_of


@pytest.mark.parametrize("tier_value", ["margin", "net_contribution"])
def test_buckets_and_driver_cuts_equal_the_pandas_publish(
    scored: tuple[CleanData, pd.DataFrame, pd.DataFrame, pd.Timestamp],
    tmp_path: Path,
    tier_value: str,
) -> None:
    data, features, profiles, as_of = scored
    settings = ServiceSettings(home=tmp_path).model_copy(update={"tier_value": tier_value})
    want = with_economics(profiles, data, as_of, COSTS, settings, SHARES)
    want, want_meta = with_cells(want, features, CellsConfig(min_size=5))

    # what Spark hands each bucket: ids with sign-up (ns), attributes and channel shares,
    # and their transactions (ts in ns), in no particular order
    shares = [c for c in features.columns if c.startswith("chan_share__")]
    people = features[["customer_id", *shares]].merge(data.customers, on="customer_id", how="left")
    people["signup_date"] = people["signup_date"].to_numpy().view("int64")
    tx = data.transactions.assign(ts=data.transactions["ts"].to_numpy().view("int64"))
    bucket = pd.util.hash_array(people["customer_id"].to_numpy()) % 3
    tx_bucket = pd.util.hash_array(tx["customer_id"].to_numpy()) % 3
    parts = [
        bucket_economics(
            tx[tx_bucket == b].sample(frac=1.0, random_state=b),
            people[bucket == b].sample(frac=1.0, random_state=b),
            as_of,
            COSTS,
        )
        for b in range(3)
    ]
    assert all(len(p) for p in parts)  # every bucket has customers
    econ = pd.concat(parts[::-1], ignore_index=True)
    got, meta = with_economics_arrow(
        pa.Table.from_pandas(profiles, preserve_index=False),
        pa.Table.from_pandas(econ, preserve_index=False),
        tier_value,
        SHARES,
        CellsConfig(min_size=5),
    )
    got_frame = got.to_pandas()
    assert list(got_frame.columns) == list(want.columns)
    assert_frames_agree(got_frame, want, rtol=1e-9, atol=1e-9)
    assert meta == want_meta
    assert (want["cost_to_serve_12m"] > 0).any() and want["lifecycle_stage"].nunique() >= 3
    if tier_value == "net_contribution":
        assert not (got_frame["value_tier"] == profiles["value_tier"]).all()


def test_scores_and_economics_of_other_customers_are_refused() -> None:
    profiles = pa.table({"customer_id": [1, 2]})
    econ = pa.table({"customer_id": [1, 3]})
    with pytest.raises(RuntimeError, match="economics cover"):
        with_economics_arrow(profiles, econ, "margin", SHARES, CellsConfig())


def test_contacts_are_priced_per_bucket_as_on_the_whole_table(
    scored: tuple[CleanData, pd.DataFrame, pd.DataFrame, pd.Timestamp],
) -> None:
    """Decision-log contacts (a driver-side frame every bucket gets) cost the same."""
    data, features, _, as_of = scored
    costs = parse_costs({"per_contact": {"default": 0.3, "email": 0.05}}, "costs.yaml")
    ids = features["customer_id"].to_numpy()
    contacts = pd.DataFrame(
        {
            "customer_id": np.repeat(ids[::7], 3).astype(str),  # the log keeps ids as text
            "ts": as_of - pd.to_timedelta(np.arange(len(ids[::7]) * 3) % 400, unit="D"),
            "channel": np.resize(
                np.array(["email", "web", "store"], dtype=object), len(ids[::7]) * 3
            ),
        }
    )
    want = economics_columns(data, pd.Index(ids), as_of, costs, contacts)
    people = features[["customer_id"]].merge(data.customers, on="customer_id", how="left")
    people["signup_date"] = people["signup_date"].to_numpy().view("int64")
    tx = data.transactions.assign(ts=data.transactions["ts"].to_numpy().view("int64"))
    half = people["customer_id"].to_numpy() % 2 == 0
    parts = [
        bucket_economics(tx[tx["customer_id"].isin(p["customer_id"])], p, as_of, costs, contacts)
        for p in (people[half], people[~half])
    ]
    got = pd.concat(parts).set_index("customer_id").loc[ids].reset_index(drop=True)
    assert (want["contact_cost_12m"] > 0).sum() > 20
    pd.testing.assert_frame_equal(got[list(want.columns)], want)
