"""Synthetic data: contract, determinism, latent structure, drift and ground truth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.data.contract import validate
from training.data.simulator import archetypes as sa
from training.data.simulator.process import (
    StepLookup,
    WeeklyClock,
    sample_categories,
    simulate_purchases,
)
from training.data.simulator.simulate import SynthConfig, SynthData, synthesize, write_synth

BASE = SynthConfig(n_customers=3000, seed=7)
DRIFT_AT = "2025-01-01"


@pytest.fixture(scope="module")
def base() -> SynthData:
    return synthesize(BASE)


@pytest.fixture(scope="module")
def drifted() -> dict[str, SynthData]:
    return {
        d: synthesize(replace(BASE, drift=d, drift_start=DRIFT_AT))
        for d in ("price", "mix", "churn")
    }


def _before(tx: pd.DataFrame, when: str) -> pd.DataFrame:
    return tx[tx["ts"] < pd.Timestamp(when)].reset_index(drop=True)


def _after(tx: pd.DataFrame, when: str) -> pd.DataFrame:
    return tx[tx["ts"] >= pd.Timestamp(when)].reset_index(drop=True)


# --- contract and shape ---------------------------------------------------------------


def test_tables_pass_the_contract_without_any_issue(base: SynthData) -> None:
    clean = validate(base.transactions, base.customers, now=pd.Timestamp("2030-01-01"))
    assert clean.report.issues == []
    assert len(clean.transactions) == len(base.transactions)
    assert clean.families == [
        "fresh_food", "bakery", "household", "electronics", "beauty", "wine"
    ]  # fmt: skip


def test_column_types_and_ranges(base: SynthData) -> None:
    tx, cu = base.transactions, base.customers
    assert list(tx.columns) == [
        "customer_id", "ts", "amount", "margin", "family", "channel", "quantity"
    ]  # fmt: skip
    assert str(tx["customer_id"].dtype) == "int64" and str(tx["ts"].dtype) == "datetime64[ns]"
    assert tx["amount"].dtype == np.float64 and tx["margin"].dtype == np.float64
    assert isinstance(tx["family"].dtype, pd.CategoricalDtype)
    assert list(tx["channel"].cat.categories) == ["store", "online", "phone"]
    assert tx["quantity"].dtype == np.int64
    assert list(cu.columns) == [
        "customer_id", "signup_date", "age_band", "region", "acquisition_channel"
    ]  # fmt: skip
    assert cu["customer_id"].is_unique and len(cu) == BASE.n_customers
    assert tx["ts"].min() >= pd.Timestamp(BASE.start)
    assert tx["ts"].max() <= pd.Timestamp(BASE.end)
    assert not tx.duplicated().any()


def test_rows_sorted_by_customer_then_time(base: SynthData) -> None:
    tx = base.transactions
    key = tx["customer_id"].to_numpy() * 10**12 + tx["ts"].astype("int64").to_numpy() // 10**9
    assert (np.diff(key) >= 0).all()


def test_every_buyer_is_a_customer_and_buys_from_signup_on(base: SynthData) -> None:
    tx, cu = base.transactions, base.customers
    first = tx.groupby("customer_id")["ts"].min()
    signup = cu.set_index("customer_id")["signup_date"]
    assert first.index.isin(signup.index).all()
    # the first purchase happens on the sign-up day
    assert (first.dt.normalize() == signup.loc[first.index]).all()
    assert signup.min() >= pd.Timestamp(BASE.start) and signup.max() <= pd.Timestamp(BASE.end)


def test_volume_and_returns_are_realistic(base: SynthData) -> None:
    tx, cu = base.transactions, base.customers
    years = (pd.Timestamp(BASE.end) - cu["signup_date"]).dt.days.sum() / 365.25
    assert 15 <= len(tx) / years <= 40
    returns = tx[tx["amount"] < 0]
    assert 0.02 < len(returns) / len(tx) < 0.10
    assert (returns["quantity"] < 0).all() and (returns["margin"] < 0).mean() > 0.9
    assert set(tx["ts"].dt.hour.unique()) <= set(range(7, 23))


def test_same_seed_same_frames_other_seed_other_frames(base: SynthData) -> None:
    again = synthesize(BASE)
    pd.testing.assert_frame_equal(again.transactions, base.transactions)
    pd.testing.assert_frame_equal(again.customers, base.customers)
    pd.testing.assert_frame_equal(again.ground_truth, base.ground_truth)
    pd.testing.assert_frame_equal(again.ground_truth_responses, base.ground_truth_responses)
    other = synthesize(replace(BASE, seed=8))
    assert not other.transactions["amount"].head(100).equals(base.transactions["amount"].head(100))


def test_write_synth_round_trips(tmp_path: Path) -> None:
    data = synthesize(SynthConfig(n_customers=50, seed=1))
    paths = write_synth(data, tmp_path / "out")
    assert [p.name for p in paths] == [
        "transactions.parquet", "customers.parquet", "ground_truth.parquet",
        "ground_truth_responses.parquet",
    ]  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(paths[0]), data.transactions)
    pd.testing.assert_frame_equal(pd.read_parquet(paths[2]), data.ground_truth)
    pd.testing.assert_frame_equal(pd.read_parquet(paths[3]), data.ground_truth_responses)


def test_blocks_of_customers_join_into_one_valid_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("training.data.simulator.simulate.CHUNK_CUSTOMERS", 300)
    config = SynthConfig(n_customers=1000, seed=2)
    data = synthesize(config)
    assert data.customers["customer_id"].tolist() == list(range(1, 1001))
    assert data.ground_truth["customer_id"].tolist() == list(range(1, 1001))
    tx = data.transactions
    assert tx["customer_id"].is_monotonic_increasing and tx.index.equals(pd.RangeIndex(len(tx)))
    assert isinstance(tx["family"].dtype, pd.CategoricalDtype)
    assert validate(tx, data.customers, now=pd.Timestamp("2030-01-01")).report.issues == []
    pd.testing.assert_frame_equal(synthesize(config).transactions, tx)
    single = synthesize(SynthConfig(n_customers=50))
    for name in ("transactions", "customers", "ground_truth", "ground_truth_responses"):
        pd.testing.assert_series_equal(getattr(data, name).dtypes, getattr(single, name).dtypes)
    assert data.ground_truth_responses["customer_id"].unique().tolist() == list(range(1, 1001))


# --- configuration ------------------------------------------------------------------


@pytest.mark.parametrize("n_families", [4, 10])
def test_family_count_is_configurable(n_families: int) -> None:
    data = synthesize(SynthConfig(n_customers=300, n_families=n_families))
    families = data.transactions["family"].cat.categories
    assert list(families) == list(sa.family_names(n_families))
    assert data.transactions["family"].nunique() == n_families


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"n_families": 3}, "n_families must be between 4 and 10"),
        ({"n_families": 11}, "n_families must be between 4 and 10"),
        ({"n_customers": 0}, "n_customers"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"seed": -1}, "seed"),
        ({"start": "yesterday-ish"}, "start"),
        ({"end": "2023-06-01"}, "end"),
        ({"drift": "weather", "drift_start": DRIFT_AT}, "drift must be None or one of"),
        ({"drift": "price"}, "drift_start"),
        ({"drift_start": DRIFT_AT}, "drift_start"),
        ({"drift": "price", "drift_start": "2024-01-01"}, "drift_start must lie in"),
        ({"drift": "price", "drift_start": "2026-02-01"}, "drift_start must lie in"),
    ],
)
def test_bad_config_names_the_parameter(change: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        synthesize(replace(SynthConfig(n_customers=10), **change))  # type: ignore[arg-type]


# --- latent structure ---------------------------------------------------------------


def _with_truth(data: SynthData) -> pd.DataFrame:
    truth = data.ground_truth[["customer_id", "archetype", "value_destroyer", "partial_churner"]]
    return data.transactions.merge(truth, on="customer_id")


def _intended_top_family(n_families: int) -> dict[str, str]:
    """Each archetype's most likely family among those in use."""
    names = sa.family_names(n_families)
    top = sa.family_mix(n_families).argmax(axis=1)
    return {a.name: names[t] for a, t in zip(sa.ARCHETYPES, top, strict=True)}


@pytest.mark.parametrize("n_families", [6, 10])
def test_each_archetype_buys_its_intended_family_most(n_families: int) -> None:
    data = synthesize(SynthConfig(n_customers=2000, n_families=n_families, seed=3))
    rows = _with_truth(data)
    counts = rows.groupby(["archetype", "family"], observed=True).size().unstack()
    top = counts.idxmax(axis=1)
    assert top.to_dict() == _intended_top_family(n_families)


def test_archetypes_differ_in_channel_and_weekday(base: SynthData) -> None:
    rows = _with_truth(base)
    by = rows.groupby("archetype", observed=True)
    online = by["channel"].agg(lambda c: (c == "online").mean())
    weekend = by["ts"].agg(lambda t: (t.dt.dayofweek >= 5).mean())
    assert online.idxmax() == "online_convenience" and online.max() > 0.6
    assert weekend.idxmax() == "weekend_treats" and weekend.max() > 0.5
    assert weekend["online_convenience"] < 2 / 7


def test_value_destroyers_lose_money_and_others_make_it(base: SynthData) -> None:
    rows = _with_truth(base)
    net = rows.groupby(["value_destroyer", "customer_id"])["margin"].sum()
    assert len(net.loc[True]) > 50
    assert (net.loc[True] < 0).all()
    assert (rows.loc[rows["value_destroyer"] & (rows["amount"] > 0), "margin"] <= 0).all()
    assert net.loc[False].sum() > 0 and (net.loc[False] > 0).mean() > 0.8


def test_partial_churners_spend_less_over_time(base: SynthData) -> None:
    rows = _with_truth(base)
    buys = rows[(rows["amount"] > 0) & (rows["ts"] < "2025-01-01")]
    late = rows[(rows["amount"] > 0) & (rows["ts"] >= "2025-07-01")]
    ratio = (
        late.groupby("partial_churner")["amount"].mean()
        / buys.groupby("partial_churner")["amount"].mean()
    )
    assert ratio[True] < 0.8 * ratio[False]


# --- ground truth -------------------------------------------------------------------


def test_ground_truth_is_consistent(base: SynthData) -> None:
    gt, tx = base.ground_truth, base.transactions
    assert len(gt) == BASE.n_customers and gt["customer_id"].is_unique
    dead = ~gt["alive_at_end"]
    assert gt["death_date"].isna().to_numpy().tolist() == gt["alive_at_end"].tolist()
    last = tx[tx["amount"] > 0].groupby("customer_id")["ts"].max()
    deaths = gt.loc[dead].set_index("customer_id")["death_date"]
    assert (deaths == last.loc[deaths.index]).all()  # death right after the last purchase
    assert (gt.loc[dead, "future_purchases"] == 0).all()
    assert 0.1 < dead.mean() < 0.6


def test_oracle_churn_probability_is_a_calibrated_probability(base: SynthData) -> None:
    gt = base.ground_truth
    p = gt["oracle_churn_prob"]
    assert p.between(0, 1).all()
    assert (p[~gt["alive_at_end"]] == 1).all() and (p[gt["alive_at_end"]] < 1).all()
    no_purchase = gt["future_purchases"] == 0
    assert abs(p.mean() - no_purchase.mean()) < 0.03
    for low, high in [(0, 0.2), (0.2, 0.6), (0.6, 0.999)]:
        band = p.between(low, high)
        assert abs(p[band].mean() - no_purchase[band].mean()) < 0.05


def test_future_purchases_stay_out_of_the_transactions() -> None:
    """Ending earlier hides the later events from the table, not from the truth."""
    data = synthesize(SynthConfig(n_customers=2000, seed=5, horizon_days=60))
    gt, tx = data.ground_truth, data.transactions
    assert tx["ts"].max() <= pd.Timestamp("2025-12-31")
    buyers = gt.loc[gt["future_purchases"] > 0]
    assert len(buyers) > 500 and buyers["alive_at_end"].all()
    # net of returns in the window, which can cancel a purchase
    assert (buyers["future_spend"] > 0).mean() > 0.95
    margin_rate = gt["future_margin"].sum() / gt["future_spend"].sum()
    assert 0.05 < margin_rate < 0.4


# --- drift --------------------------------------------------------------------------


@pytest.mark.parametrize("drift", ["price", "mix", "churn"])
def test_drift_leaves_everything_before_its_start_unchanged(
    base: SynthData, drifted: dict[str, SynthData], drift: str
) -> None:
    pd.testing.assert_frame_equal(
        _before(drifted[drift].transactions, DRIFT_AT), _before(base.transactions, DRIFT_AT)
    )
    pd.testing.assert_frame_equal(drifted[drift].customers, base.customers)


def test_price_drift_raises_amounts_after_its_start(
    base: SynthData, drifted: dict[str, SynthData]
) -> None:
    after, was = (
        _after(drifted["price"].transactions, DRIFT_AT),
        _after(base.transactions, DRIFT_AT),
    )
    buys = after["amount"] > 0
    ratio = after.loc[buys, "amount"].sum() / was.loc[buys, "amount"].sum()
    assert ratio == pytest.approx(sa.PRICE_DRIFT_FACTOR, abs=0.005)
    assert (after["family"] == was["family"]).all()


def test_mix_drift_moves_share_to_the_boosted_families(
    base: SynthData, drifted: dict[str, SynthData]
) -> None:
    boosted = list(sa.family_names(BASE.n_families)[-2:])

    def share(tx: pd.DataFrame) -> float:
        return float(tx["family"].isin(boosted).mean())

    after, was = _after(drifted["mix"].transactions, DRIFT_AT), _after(base.transactions, DRIFT_AT)
    assert share(after) > 1.5 * share(was)
    assert len(after) == len(was)


def test_churn_drift_raises_dropout_after_its_start(
    base: SynthData, drifted: dict[str, SynthData]
) -> None:
    churned = drifted["churn"]
    assert len(_after(churned.transactions, DRIFT_AT)) < 0.8 * len(
        _after(base.transactions, DRIFT_AT)
    )
    assert churned.ground_truth["alive_at_end"].mean() < base.ground_truth["alive_at_end"].mean()
    deaths_before = lambda d: (d.ground_truth["death_date"] < DRIFT_AT).sum()  # noqa: E731
    assert deaths_before(churned) == deaths_before(base)
    after = churned.ground_truth["dropout_prob_after_drift"]
    before = churned.ground_truth["dropout_prob"]
    np.testing.assert_allclose(after, np.minimum(before * sa.CHURN_DRIFT_FACTOR, 0.9))


# --- building blocks with known answers ---------------------------------------------


def test_sample_categories_matches_inverse_cdf_exactly() -> None:
    probs = np.array([[0.5, 0.25, 0.25], [0.001, 0.001, 0.998]])
    u = np.array([0.0, 0.49, 0.5, 0.74, 0.75, 0.999, 0.0005, 0.0015, 0.5])
    row = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    assert sample_categories(probs, row, u).tolist() == [0, 0, 1, 1, 2, 2, 0, 1, 2]


def test_step_lookup_skips_many_narrow_steps() -> None:
    edges = np.array([[0.0, 0.001, 0.002, 0.003, 1.0]])
    lookup = StepLookup(edges, cells_per_unit=10)
    x = np.array([0.0005, 0.0015, 0.0025, 0.5])
    assert lookup.find(x, np.zeros(4, dtype=np.int64)).tolist() == [0, 1, 2, 3]


def test_weekly_clock_round_trips_and_skips_closed_hours() -> None:
    clock = WeeklyClock(sa.weekly_profile())
    tau = np.linspace(0, 1000, 5001)
    row = np.arange(len(tau)) % len(sa.ARCHETYPES)
    real = clock.to_real(tau, row)
    np.testing.assert_allclose(clock.to_operational(real, row), tau, atol=1e-9)
    hour = np.floor(real % 24)
    assert hour.min() >= 7 and hour.max() <= 21
    # one week of operational time is one week of real time
    np.testing.assert_allclose(clock.to_real(tau + 168, row) - real, 168, atol=1e-9)


def test_simulate_purchases_known_answers() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    begin, end = np.zeros(n), np.full(n, 100.0)
    rate = np.full(n, 0.2)
    count, died, times = simulate_purchases(rng, rate, np.full(n, 1e-9), begin, end)
    assert count.mean() == pytest.approx(1 + 0.2 * 100, rel=0.02)  # first + Poisson(20)
    assert not died.any()
    offsets = np.concatenate([[0], np.cumsum(count)])
    assert (times[offsets[:-1]] == 0).all() and times.max() <= 100
    inside = np.diff(times)[np.diff(np.repeat(np.arange(n), count)) == 0]
    assert (inside >= 0).all()
    count, died, _ = simulate_purchases(rng, rate, np.full(n, 1.0), begin, end)
    assert (count == 1).all() and died.all()
    count, died, _ = simulate_purchases(rng, rate, np.full(n, 0.1), begin, end)
    # death after purchase k with probability 0.1: P(dead by the end) = 1 - E[0.9 ** (1 + N)]
    expected = 1 - 0.9 * np.exp(-20 * 0.1)
    assert died.mean() == pytest.approx(expected, abs=0.015)
