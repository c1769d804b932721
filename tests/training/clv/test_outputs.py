"""Per-customer CLV outputs: columns, discounting, intervals and value destroyers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.clv import BetaGeo, GammaGamma, clv_outputs
from training.clv.interval import history_draws
from training.clv.keyed import history_keys

COLUMNS = [
    "prob_alive",
    "expected_purchases_90d",
    "expected_spend_per_purchase",
    "clv_3m",
    "clv_6m",
    "clv_12m",
    "clv_12m_p10",
    "clv_12m_p90",
]


@pytest.fixture(scope="module")
def daily() -> tuple[pd.DataFrame, BetaGeo, GammaGamma]:
    """CDNOW sample summarised in days (cintel's unit) and the models fitted on it."""
    from training.clv import rfm_summary
    from training.data.cdnow import load_cdnow

    s = rfm_summary(load_cdnow(sample=True)[0], "1997-09-30", unit_days=1)
    bg = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    gg = GammaGamma().fit(s["frequency"], s["monetary_value"])
    return s, bg, gg


def test_columns_index_and_ordering(daily: tuple[pd.DataFrame, BetaGeo, GammaGamma]) -> None:
    s, bg, gg = daily
    out = clv_outputs(s, bg, gg, n_draws=200)
    assert list(out.columns) == COLUMNS
    assert out.index.equals(s.index)
    assert np.isfinite(out.to_numpy()).all()
    assert ((out["prob_alive"] > 0) & (out["prob_alive"] <= 1)).all()
    assert (out["clv_3m"] <= out["clv_6m"]).all() and (out["clv_6m"] <= out["clv_12m"]).all()
    assert (out["clv_12m_p10"] <= out["clv_12m_p90"]).all()
    assert (out["clv_12m_p10"] <= out["clv_12m"] + 1e-9).all()


def test_time_unit_does_not_change_the_answer(
    daily: tuple[pd.DataFrame, BetaGeo, GammaGamma],
    cdnow_summary: pd.DataFrame,
    cdnow_bgnbd: BetaGeo,
    cdnow_gg: GammaGamma,
) -> None:
    s, bg, gg = daily
    in_days = clv_outputs(s, bg, gg, n_draws=10)
    in_weeks = clv_outputs(cdnow_summary, cdnow_bgnbd, cdnow_gg, unit_days=7, n_draws=10)
    for col in ("prob_alive", "expected_purchases_90d", "clv_12m"):
        np.testing.assert_allclose(in_days[col], in_weeks[col], rtol=1e-4, atol=1e-8)


def test_discounting(daily: tuple[pd.DataFrame, BetaGeo, GammaGamma]) -> None:
    s, bg, gg = daily
    none = clv_outputs(s, bg, gg, monthly_discount=0.0, n_draws=10)
    some = clv_outputs(s, bg, gg, monthly_discount=0.01, n_draws=10)
    buyers = none["clv_12m"] > 0
    assert (some.loc[buyers, "clv_12m"] < none.loc[buyers, "clv_12m"]).all()
    undiscounted = none["expected_spend_per_purchase"] * bg.conditional_expected_purchases(
        12 * 365.25 / 12, s["frequency"], s["recency"], s["T"]
    )
    np.testing.assert_allclose(none["clv_12m"], undiscounted, rtol=1e-9)


def test_interval_draws_average_to_the_analytical_clv(
    daily: tuple[pd.DataFrame, BetaGeo, GammaGamma],
) -> None:
    s, bg, gg = daily
    out = clv_outputs(s, bg, gg, n_draws=10)
    x = s["frequency"].to_numpy(dtype=float)
    undiscounted = clv_outputs(s, bg, gg, monthly_discount=0.0, n_draws=10)["clv_12m"]
    discount = (out["clv_12m"] / undiscounted).fillna(1.0).to_numpy()
    r_draws, d_draws = history_draws(
        bg, gg, x, s["T"].to_numpy(), out["prob_alive"].to_numpy(), discount,
        365.25, 400, history_keys(1, x, s["recency"].to_numpy(), s["T"].to_numpy()),
    )  # fmt: skip
    m = s["monetary_value"].to_numpy()
    draws = np.where((x > 0) & (m <= 0), m, gg.v_ + x * m)[:, None] * r_draws
    assert draws.mean() == pytest.approx(out["clv_12m"].mean(), rel=0.02)
    assert np.corrcoef(draws.mean(axis=1), out["clv_12m"])[0, 1] > 0.99
    discounted_purchases = (out["clv_12m"] / out["expected_spend_per_purchase"]).mean()
    assert d_draws.mean() == pytest.approx(discounted_purchases, rel=0.02)


def test_interval_of_a_customer_does_not_depend_on_the_batch(
    daily: tuple[pd.DataFrame, BetaGeo, GammaGamma],
) -> None:
    s, bg, gg = daily
    s = s.assign(monetary_value=s["monetary_value"].where(s.index % 97 != 0, 0.0))  # fixed spend
    cols = ["clv_12m_p10", "clv_12m_p90"]
    whole = clv_outputs(s, bg, gg, n_draws=200)[cols]
    assert whole["clv_12m_p90"].nunique() > 900  # one per distinct history and spend
    shuffled = s.sample(frac=1.0, random_state=1)
    parts = [clv_outputs(shuffled, bg, gg, n_draws=200)]
    for lo, hi in [(0, 1), (1, 2), (2, 700), (700, 1501), (1501, len(s))]:
        parts.append(clv_outputs(s.iloc[lo:hi], bg, gg, n_draws=200))
    parts += [clv_outputs(s.iloc[[i]], bg, gg, n_draws=200) for i in range(0, len(s), 97)]
    parts += [clv_outputs(s, bg, gg, n_draws=200, chunk_size=size) for size in (1, 7)]
    for part in parts:
        got = part[cols]
        assert np.array_equal(got.to_numpy(), whole.loc[got.index].to_numpy())
    other_seed = clv_outputs(s, bg, gg, n_draws=200, seed=1)[cols]
    assert not np.array_equal(other_seed.to_numpy(), whole.to_numpy())


def test_value_destroyers_get_negative_clv_not_an_error(
    daily: tuple[pd.DataFrame, BetaGeo, GammaGamma],
) -> None:
    _, bg, gg = daily
    s = pd.DataFrame(
        {
            "frequency": [3.0, 2.0, 0.0, 10_000.0],
            "recency": [200.0, 100.0, 0.0, 4_999.0],
            "T": [250.0, 250.0, 250.0, 5_000.0],
            "monetary_value": [-40.0, 0.0, 0.0, 25.0],
        },
        index=pd.Index(["loser", "zero", "new", "heavy"], name="customer_id"),
    )
    out = clv_outputs(s, bg, gg, n_draws=200)
    assert np.isfinite(out.to_numpy()).all()
    spend, clv, p10 = (
        out[c].to_dict() for c in ("expected_spend_per_purchase", "clv_12m", "clv_12m_p10")
    )
    assert spend["loser"] == -40.0
    assert clv["loser"] < 0 and p10["loser"] < 0
    assert clv["zero"] == 0.0
    assert spend["new"] == pytest.approx(gg.population_mean_)
    assert clv["heavy"] > 1000


def test_feature_column_names_and_bad_input(
    daily: tuple[pd.DataFrame, BetaGeo, GammaGamma],
) -> None:
    s, bg, gg = daily
    renamed = s.rename(columns=lambda c: f"btyd_{c}")
    cols = ("btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary_value")
    out = clv_outputs(renamed.head(5), bg, gg, columns=cols, horizon_days=30, n_draws=10)
    assert "expected_purchases_30d" in out.columns
    with pytest.raises(ValueError, match="lacks column"):
        clv_outputs(renamed, bg, gg)
