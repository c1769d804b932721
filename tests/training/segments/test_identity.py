"""Segment ids stay with the same behaviour across retrains (issue 12, item 13)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.training.segments.conftest import planted_frame, snapshot_of
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import Snapshot, build_snapshot
from training.segments import LOW_ACTIVITY, SegmentsConfig, SegmentsModel, fit, write_artifacts


def _dominant(model: SegmentsModel, snap: Snapshot, truth: pd.Series) -> dict[str, str]:
    """Archetype -> the segment id most of its active customers are in."""
    out = model.predict_frame(snap.frame)
    out = out[out["segment_id"] != LOW_ACTIVITY]
    arche = truth.reindex(out["customer_id"]).astype(str).to_numpy()
    table = pd.crosstab(arche, out["segment_id"].to_numpy())
    return {str(a): str(s) for a, s in table.idxmax(axis=1).items()}


def test_refit_on_a_later_snapshot_keeps_every_archetypes_slug() -> None:
    sim = synthesize(SynthConfig(n_customers=3000, end="2025-06-30", seed=2))
    data = validate(sim.transactions, sim.customers)
    truth = sim.ground_truth.set_index("customer_id")["archetype"]
    first_snap = build_snapshot(data, "2025-01-01", 90)
    later_snap = build_snapshot(data, "2025-04-01", 90)
    first = fit(first_snap)
    later = fit(later_snap, previous=first)
    before, after = _dominant(first, first_snap, truth), _dominant(later, later_snap, truth)
    assert len(set(before.values())) == 5  # every archetype has a segment of its own
    assert after == before
    kept = [i for i, d in zip(later.ids, later.match_distance, strict=True) if np.isfinite(d)]
    assert set(before.values()) <= set(kept)
    for sid in before.values():  # the display name travels with the id
        assert later.names[later.ids.index(sid)] == first.names[first.ids.index(sid)]
    # without the previous model this data renames one archetype's segment
    assert _dominant(fit(later_snap), later_snap, truth) != before


def test_ids_are_slugs_of_the_names_and_name_the_probability_columns(planted) -> None:
    _, _, model = planted
    for sid, name in zip(model.ids, model.names, strict=True):
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", sid)
        assert sid == re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    out = model.predict_frame(planted[0].frame)
    assert model.prob_columns == [f"segment_prob__{i}" for i in model.ids]
    named = dict(zip(model.names, model.ids, strict=True))
    assert (out["segment"].map(named) == out["segment_id"]).all()


def test_ids_follow_the_centres_not_the_order_of_the_clusters(planted) -> None:
    snap, _, model = planted
    frame, _ = planted_frame(seed=9)  # the same behaviours, new customers
    other = fit(snapshot_of(frame), SegmentsConfig(random_state=5), previous=model)
    assert sorted(other.ids) == sorted(model.ids) and other.retired_ids == []
    old = model.predict_frame(snap.frame)["segment_id"]
    new = other.predict_frame(snap.frame)["segment_id"]
    assert (old == new).mean() > 0.95


def test_a_vanished_cluster_is_retired_and_a_new_one_gets_a_new_id(planted) -> None:
    snap, truth, model = planted
    frame, labels = planted_frame(seed=4)
    wine_id = model.predict_frame(snap.frame)["segment_id"][truth == "wine_online"].mode()[0]
    # the wine buyers are gone; a new behaviour (pure bakery, online, on weekdays) appears
    keep = frame[labels != "wine_online"].reset_index(drop=True)
    rng = np.random.default_rng(1)
    new = keep.iloc[:100].copy()
    new[[c for c in keep.columns if c.startswith("fam_share__")]] = 0.0
    new["fam_share__bakery"] = 1.0
    new[["chan_share__online", "chan_share__store"]] = [1.0, 0.0]
    new["weekend_share"] = rng.uniform(0.0, 0.05, len(new))
    new["customer_id"] = [f"N{i:03d}" for i in range(len(new))]
    later = fit(snapshot_of(pd.concat([keep, new], ignore_index=True)), previous=model)
    assert later.retired_ids == [wine_id]
    assert wine_id not in later.ids
    fresh = [i for i, d in zip(later.ids, later.match_distance, strict=True) if not np.isfinite(d)]
    assert len(fresh) == 1 and fresh[0] not in model.ids
    assert set(later.ids) - set(fresh) == set(model.ids) - {wine_id}
    # and the retired id is not handed out again by the next retrain
    again = fit(snapshot_of(frame), previous=later)
    assert wine_id not in again.ids and wine_id in again.retired_ids


def test_ids_and_lineage_survive_save_and_load(planted, tmp_path: Path) -> None:
    snap, _, model = planted
    frame, _ = planted_frame(seed=9)
    later = fit(snapshot_of(frame), previous=model)
    later.save(tmp_path)
    loaded = SegmentsModel.load(tmp_path)
    assert loaded.ids == later.ids and loaded.names == later.names
    assert loaded.retired_ids == later.retired_ids
    np.testing.assert_allclose(loaded.match_distance, later.match_distance)
    pd.testing.assert_frame_equal(later.predict_frame(snap.frame), loaded.predict_frame(snap.frame))


def test_a_bundle_saved_before_ids_existed_loads_with_slug_ids(planted, tmp_path: Path) -> None:
    _, _, model = planted
    model.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for key in ("segment_ids", "retired_segment_ids", "segment_match_distance"):
        del manifest[key]
    del manifest["config"]["match_max_ratio"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    old = SegmentsModel.load(tmp_path)
    assert old.ids == model.ids  # the slug of each name, as its probability column was
    assert old.retired_ids == [] and all(np.isnan(old.match_distance))
    frame, _ = planted_frame(seed=9)
    assert sorted(fit(snapshot_of(frame), previous=old).ids) == sorted(model.ids)


def test_identity_table_in_the_report(planted, tmp_path: Path) -> None:
    snap, truth, model = planted
    keep = snap.frame[truth != "wine_online"].reset_index(drop=True)
    later = fit(snapshot_of(keep), SegmentsConfig(k_max=3), previous=model)
    write_artifacts(later, snapshot_of(keep), tmp_path)
    table = pd.read_csv(tmp_path / "segment_identity.csv")
    assert table["status"].value_counts().to_dict() == {"kept": 3, "retired": 1}
    assert table.loc[table["status"] == "kept", "segment_id"].tolist() == later.ids


def test_match_ratio_is_validated() -> None:
    with pytest.raises(ValueError, match="match_max_ratio"):
        SegmentsConfig(match_max_ratio=0.0)
