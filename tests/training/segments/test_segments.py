"""Behavioural segments, membership, persistence and evaluation on planted clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from tests.training.segments.conftest import planted_frame, snapshot_of
from training.segments import (
    FLOORS,
    MAIN_METRIC,
    TIERS,
    SegmentsConfig,
    SegmentsModel,
    archetype_ari,
    evaluate,
    fit,
    stability_ari,
    write_artifacts,
)
from training.segments.behaviour import name_segments, silhouettes


def test_planted_clusters_are_recovered(planted) -> None:
    snap, truth, model = planted
    assert model.n_segments == 4
    out = model.predict_frame(snap.frame)
    assert adjusted_rand_score(truth, out["segment"]) > 0.8


def test_names_are_unique_and_say_what_sets_segments_apart(planted) -> None:
    snap, truth, model = planted
    assert len(set(model.names)) == len(model.names)
    out = model.predict_frame(snap.frame)
    wine_name = out.loc[truth == "wine_online", "segment"].mode().iloc[0]
    assert "wine" in wine_name
    assert "online" in wine_name or "weekend" in wine_name
    assert "electronics" in out.loc[truth == "electronics_online", "segment"].mode().iloc[0]


def test_duplicate_top_family_gets_disambiguated() -> None:
    cols = ["fam_share__wine", "fam_share__bakery", "chan_share__online", "weekend_share"]
    means = np.array([[0.6, 0.4, 0.5, 0.3], [0.7, 0.3, 0.5, 0.3], [0.1, 0.9, 0.5, 0.3]])
    names, defining = name_segments(means, means.mean(axis=0), cols, SegmentsConfig())
    assert len(set(names)) == 3
    assert all("wine" in n for n in names[:2])
    assert defining[2] == ["fam_share__bakery"]


def test_membership_probabilities_sum_to_one_for_everyone(planted) -> None:
    snap, _, model = planted
    extra = snap.frame.iloc[:2].assign(customer_id=["new1", "new2"], frequency=[1.0, 0.0])
    extra.loc[extra.index[1], model.features] = np.nan  # never bought: shares undefined
    out = model.predict_frame(pd.concat([snap.frame, extra], ignore_index=True))
    probs = out[model.prob_columns].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert np.isfinite(probs).all()
    assert out["segment"].iloc[-2:].tolist() == ["low_activity", "low_activity"]
    assert out["rfm_score"].iloc[-1] == "111"
    agree = (np.array(model.names)[probs[:-2].argmax(axis=1)] == out["segment"][:-2]).mean()
    assert agree > 0.95


def test_predict_frame_columns(planted) -> None:
    snap, _, model = planted
    out = model.predict_frame(snap.frame)
    head = ["customer_id", "rfm_r", "rfm_f", "rfm_m", "rfm_score", "value_tier", "segment"]
    assert list(out.columns) == [*head, "segment_id", *model.prob_columns]
    assert len(out) == len(snap.frame)
    assert set(out["value_tier"]) <= set(TIERS)


def test_save_load_round_trip_is_identical(planted, tmp_path: Path) -> None:
    snap, _, model = planted
    model.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
    loaded = SegmentsModel.load(tmp_path)
    pd.testing.assert_frame_equal(model.predict_frame(snap.frame), loaded.predict_frame(snap.frame))
    assert loaded.tier_cuts == model.tier_cuts
    assert loaded.rfm_edges == model.rfm_edges


def test_inputs_are_not_mutated() -> None:
    frame, _ = planted_frame(n_per=30, seed=3)
    before = frame.copy()
    snap = snapshot_of(frame)
    model = fit(snap, SegmentsConfig(k_max=5))
    model.predict_frame(frame)
    evaluate(model, snap)
    pd.testing.assert_frame_equal(frame, before)


def test_too_few_customers_is_a_clear_error() -> None:
    frame, _ = planted_frame(n_per=5)
    with pytest.raises(ValueError, match="at least 50 active customers"):
        fit(snapshot_of(frame))


def test_missing_column_at_predict_time(planted) -> None:
    snap, _, model = planted
    with pytest.raises(ValueError, match="fam_share__wine"):
        model.predict_frame(snap.frame.drop(columns=["fam_share__wine"]))


def test_evaluate_and_agreement_metrics(planted) -> None:
    snap, truth, model = planted
    metrics = evaluate(model, snap)
    assert MAIN_METRIC in metrics
    assert metrics["silhouette"] > FLOORS["silhouette"]
    assert metrics["n_segments"] == 4.0
    assert all(np.isfinite(v) for v in metrics.values())
    assert {f"tier_share__{t}" for t in TIERS} <= set(metrics)
    assert np.isclose(sum(metrics[f"tier_share__{t}"] for t in TIERS), 1.0)
    other = fit(snap, SegmentsConfig(random_state=7))
    assert stability_ari(model, other, snap) > 0.9
    gt = pd.DataFrame({"customer_id": snap.frame["customer_id"], "archetype": truth})
    assert archetype_ari(model, snap, gt) > 0.8


def test_low_margin_customers_are_scored_as_value_destroyers(planted) -> None:
    snap, _, model = planted
    frame = snap.frame.assign(margin_365d=np.where(np.arange(len(snap.frame)) < 7, -1.0, 10.0))
    out = model.predict_frame(frame)
    assert (out["value_tier"].iloc[:7] == "value_destroyer").all()
    assert len(out) == len(frame)


def test_write_artifacts(planted, tmp_path: Path) -> None:
    snap, _, model = planted
    paths = write_artifacts(model, snap, tmp_path)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    profiles = pd.read_csv(tmp_path / "segment_profiles.csv")
    assert set(model.names) <= set(profiles["segment"])
    usage = pd.read_csv(tmp_path / "segment_usage_thresholds.csv")
    assert {"segment", "feature", "segment_mean", "segment_median", "min_purchases"} <= set(
        usage.columns
    )


def test_shared_distance_silhouette_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    z = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(3, 1, (30, 3)), [[9.0, 9.0, 9.0]]])
    sets = {k: rng.integers(0, k, len(z)) for k in (2, 3, 5)}
    sets[9] = np.r_[np.zeros(40, int), np.ones(30, int), 2]  # a singleton cluster
    got = silhouettes(z, sets)
    for k, labels in sets.items():
        assert np.isclose(got[k], silhouette_score(z, labels))
    assert np.isnan(silhouettes(z, {1: np.zeros(len(z), int)})[1])
