"""Family profiles by hand and on the generated shop; artifacts; inputs left untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.data.contract import CleanData
from training.data.snapshot import Snapshot
from training.propensity import (
    PropensityModel,
    basket_rules,
    evaluate,
    family_profiles,
    fit,
    write_artifacts,
)
from training.propensity.profiles import lift_matrix


def _hand_snapshot() -> Snapshot:
    frame = pd.DataFrame(
        {
            "customer_id": ["p", "q", "r", "s"],
            "fam_count__a": [1.0, 1.0, 1.0, 0.0],
            "fam_count__b": [2.0, 1.0, 0.0, 0.0],
            "chan_share__online": [1.0, 0.5, np.nan, 0.0],
            "attr_region": ["x", "x", "y", "x"],
        }
    )
    return Snapshot(frame, pd.Timestamp("2024-01-01"), 90, False, ("a", "b"), ("online",))


def test_profile_lifts_by_hand() -> None:
    table = family_profiles(_hand_snapshot()).set_index(["family", "dimension", "value"])
    b_x = table.loc[("b", "region", "x")]
    assert b_x["share_buyers"] == 1.0 and b_x["share_all"] == 0.75
    assert b_x["lift"] == pytest.approx(4 / 3) and b_x["n_buyers"] == 2
    assert table.loc[("b", "region", "y"), "lift"] == 0.0
    assert table.loc[("a", "region", "y"), "lift"] == pytest.approx((1 / 3) / (1 / 4))
    # online share: b buyers (1 + .5) / 2 = .75; everyone with transactions (1 + .5 + 0) / 3
    assert table.loc[("b", "channel", "online"), "lift"] == pytest.approx(0.75 / 0.5)
    wide = lift_matrix(family_profiles(_hand_snapshot()))
    assert list(wide.index) == ["a", "b"] and "region=x" in wide.columns


def test_region_x_is_the_profile_of_b(snapshots: tuple[Snapshot, Snapshot]) -> None:
    table = family_profiles(snapshots[0]).set_index(["family", "dimension", "value"])
    assert table.loc[("b", "region", "x"), "lift"] > 1.5
    assert table.loc[("b", "region", "y"), "lift"] < 0.5
    assert table.loc[("a", "region", "x"), "lift"] == pytest.approx(1.0, abs=0.1)


def test_artifacts_written(
    model: PropensityModel, snapshots: tuple[Snapshot, Snapshot], shop: CleanData, tmp_path: Path
) -> None:
    paths = write_artifacts(model, snapshots[1], tmp_path, transactions=shop.transactions)
    names = {p.name for p in paths}
    assert {
        "propensity_profiles.csv",
        "propensity_profiles_heatmap.png",
        "basket_rules.csv",
        "propensity_lift_by_family.png",
        "propensity_importance.csv",
    } <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    rules = pd.read_csv(tmp_path / "basket_rules.csv")
    assert {"antecedent", "consequent", "support", "confidence", "lift"} <= set(rules.columns)
    without = write_artifacts(model, snapshots[0], tmp_path / "no_tx")
    assert "basket_rules.csv" not in {p.name for p in without}


def test_no_input_is_modified(
    snapshots: tuple[Snapshot, Snapshot], shop: CleanData, tmp_path: Path
) -> None:
    frames = [snapshots[0].frame, snapshots[1].frame, shop.transactions]
    before = [f.copy() for f in frames]
    model = fit(snapshots[0])
    model.predict_frame(snapshots[1].frame)
    evaluate(model, snapshots[1])
    family_profiles(snapshots[0])
    basket_rules(shop.transactions)
    write_artifacts(model, snapshots[1], tmp_path, transactions=shop.transactions)
    for got, expected in zip(frames, before, strict=True):
        pd.testing.assert_frame_equal(got, expected)
