"""`cintel train` hands the segments fit the current champion: ids survive a retrain."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import build_snapshot
from training.mlops import registry
from training.mlops.modellog import download_bundle
from training.pipeline import train
from training.segments import LOW_ACTIVITY, SegmentsModel
from training.settings import Settings


def _version(version: str, tmp: Path) -> SegmentsModel:
    return SegmentsModel.load(download_bundle("segments", version, tmp / version))


@pytest.mark.slow
def test_retrain_keeps_the_champions_segment_ids(mlflow_home: Settings, tmp_path: Path) -> None:
    sim = synthesize(SynthConfig(n_customers=3000, end="2025-06-30", seed=2))
    data = validate(sim.transactions, sim.customers)
    truth = sim.ground_truth.set_index("customer_id")["archetype"].astype(str)
    first = train(data, as_of=pd.Timestamp("2025-04-01"), models=["segments"])
    assert first[0].decision == "promoted" and registry.champion_version("segments") == "1"
    second = train(data, models=["segments"])  # three months later
    assert second[0].version == "2"
    old, new = _version("1", tmp_path), _version("2", tmp_path)
    snap = build_snapshot(data, None, horizon_days=1)
    dominant = {}
    for name, model in (("old", old), ("new", new)):
        out = model.predict_frame(snap.frame)
        out = out[out["segment_id"] != LOW_ACTIVITY]
        table = pd.crosstab(truth.reindex(out["customer_id"]).to_numpy(), out["segment_id"])
        dominant[name] = table.idxmax(axis=1).to_dict()
    assert len(set(dominant["old"].values())) == 5
    assert dominant["new"] == dominant["old"]
    assert set(dominant["old"].values()) <= set(new.ids)
