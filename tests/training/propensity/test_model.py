"""Propensity model: behaviour on a shop where region 'x' drives family 'b'."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training import propensity
from training.data.contract import CleanData
from training.data.snapshot import Snapshot, build_snapshot
from training.propensity import PropensityConfig, PropensityModel, evaluate, fit
from training.propensity.metrics import top_lift

from .conftest import AS_OF, HORIZON, clean, shop_tables


def test_region_x_ranks_higher_for_b(
    model: PropensityModel, snapshots: tuple[Snapshot, Snapshot]
) -> None:
    frame = snapshots[1].frame
    pred = model.predict_frame(frame)
    is_x = (frame["attr_region"] == "x").to_numpy()
    first = pred["propensity_first__b"].to_numpy()
    assert np.nanmean(first[is_x]) > 3 * np.nanmean(first[~is_x])
    anyb = pred["propensity_any__b"].to_numpy()
    assert anyb[is_x].mean() > 3 * anyb[~is_x].mean()


def test_first_is_nan_exactly_where_family_was_bought(
    model: PropensityModel, snapshots: tuple[Snapshot, Snapshot]
) -> None:
    frame = snapshots[0].frame
    pred = model.predict_frame(frame)
    assert list(pred.columns) == ["customer_id"] + [
        f"propensity_{k}__{f}" for k in ("any", "first") for f in ("a", "b", "c")
    ]
    for f in ("a", "b", "c"):
        bought = frame[f"fam_count__{f}"].to_numpy() > 0
        expected = bought if f"first:{f}" in model.boosters_ else np.ones_like(bought)
        np.testing.assert_array_equal(pred[f"propensity_first__{f}"].isna().to_numpy(), expected)
        assert pred[f"propensity_any__{f}"].notna().all()
    assert pred["customer_id"].equals(frame["customer_id"])


def test_out_of_time_metrics(model: PropensityModel, snapshots: tuple[Snapshot, Snapshot]) -> None:
    metrics = evaluate(model, snapshots[1])
    for name in ("roc_auc", "pr_auc", "lift_top_decile"):
        for kind in ("any", "first"):
            assert f"{name}_{kind}__b" in metrics
    assert metrics["roc_auc_any__b"] > 0.8
    assert metrics["roc_auc_first__b"] > 0.65
    assert metrics["lift_top_decile_first__b"] > 1.5
    assert metrics[propensity.MAIN_METRIC] >= propensity.FLOORS[propensity.MAIN_METRIC]
    for key in ("mean_roc_auc_any", "mean_roc_auc_first", "mean_lift_top_decile_first"):
        assert math.isfinite(metrics[key])


def test_metric_names_are_stable_across_runs(snapshots: tuple[Snapshot, Snapshot]) -> None:
    other = fit(snapshots[0], PropensityConfig(seed=7, max_depth=2))
    first = fit(snapshots[0])
    assert evaluate(other, snapshots[1]).keys() == evaluate(first, snapshots[1]).keys()


def test_save_load_round_trip(
    model: PropensityModel, snapshots: tuple[Snapshot, Snapshot], tmp_path: Path
) -> None:
    model.save(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert all(name.endswith((".json", ".ubj")) for name in files)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["kind"] == "cintel-propensity" and manifest["feature_names"]
    loaded = PropensityModel.load(tmp_path / "m")
    frame = snapshots[1].frame
    pd.testing.assert_frame_equal(loaded.predict_frame(frame), model.predict_frame(frame))
    assert loaded.skipped_ == model.skipped_


def test_unseen_category_and_missing_attribute_do_not_crash(
    model: PropensityModel, snapshots: tuple[Snapshot, Snapshot]
) -> None:
    frame = snapshots[1].frame.head(5)
    odd = frame.assign(attr_region="z").drop(columns=["attr_age_band"])
    pred = model.predict_frame(odd)
    assert len(pred) == 5 and pred["propensity_any__a"].notna().all()
    with pytest.raises(ValueError, match="recency_days"):
        model.predict_frame(frame.drop(columns=["recency_days"]))


def test_one_family_skips_first_with_a_reason() -> None:
    data = clean(*shop_tables(n=200, families=("a",)))
    snap = build_snapshot(data, AS_OF, HORIZON, require_labels=True)
    model = fit(snap)
    assert list(model.boosters_) == ["any:a"]
    assert "only one product family" in model.skipped_["first:a"]
    pred = model.predict_frame(snap.frame)
    assert pred["propensity_first__a"].isna().all()
    metrics = evaluate(model, snap)
    assert math.isfinite(metrics["mean_roc_auc_any"])
    assert math.isnan(metrics["mean_roc_auc_first"])


def test_rare_family_is_skipped_not_fatal(snapshots: tuple[Snapshot, Snapshot]) -> None:
    frame = snapshots[0].frame
    labels = [
        c for c in frame.columns if c.startswith("label_buy__") or c.startswith("label_first__")
    ]
    positives = frame[labels].sum()
    rarest = positives.idxmin()
    model = fit(snapshots[0], PropensityConfig(min_positives=int(positives.min()) + 1))
    kind = "any" if rarest.startswith("label_buy__") else "first"
    key = f"{kind}:{rarest.split('__')[1]}"
    assert key not in model.boosters_ and "positive labels" in model.skipped_[key]
    assert len(model.boosters_) == len(labels) - len(model.skipped_) > 0
    assert model.predict_frame(frame)[f"propensity_{key.replace(':', '__')}"].isna().all()
    with pytest.raises(ValueError, match="no propensity model"):
        fit(snapshots[0], PropensityConfig(min_positives=10**6))


def test_clear_errors(snapshots: tuple[Snapshot, Snapshot], shop: CleanData) -> None:
    small = Snapshot(
        snapshots[0].frame.head(10), AS_OF, HORIZON, True, ("a", "b", "c"), ("online", "store")
    )
    with pytest.raises(ValueError, match="at least 50"):
        fit(small)
    unlabelled = build_snapshot(shop)
    with pytest.raises(ValueError, match="no labels"):
        fit(unlabelled)


def test_top_lift_by_hand() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    score = np.arange(10, 0, -1, dtype=float)  # first row ranked top
    assert top_lift(y, score) == pytest.approx(1.0 / 0.2)
    assert math.isnan(top_lift(np.zeros(10), score))
