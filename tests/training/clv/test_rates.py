"""cintel-clv's value-per-day features: by hand, in the booster, absent from old bundles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.training.clv.test_learned import _features, model, snapshots, synth  # noqa: F401
from training import clv
from training.clv import ClvConfig, ClvModel
from training.clv.rates import RATE_FEATURES, rate_features
from training.data.snapshot import Snapshot


def test_rates_by_hand() -> None:
    """Run rate: last year's value over clip(tenure, H, 365) days; value per day of
    history: the total over days since the first purchase + 1; NaN without the inputs."""
    frame = pd.DataFrame(
        {
            "margin_365d": [90.0, 365.0, 0.0],
            "margin_total": [90.0, 730.0, 0.0],
            "tenure_days": [30.0, 700.0, np.nan],
            "btyd_T": [29.0, 699.0, np.nan],
        }
    )
    got = rate_features(frame, "margin", 90)
    assert list(got.columns) == list(RATE_FEATURES)
    np.testing.assert_allclose(got["value_rate_365d"], [1.0, 1.0, 0.0])  # young: ÷ 90 days
    np.testing.assert_allclose(got["value_per_day"], [3.0, 730.0 / 700.0, 0.0])
    bare = rate_features(frame[["margin_total", "btyd_T"]], "margin", 90)
    assert bare["value_rate_365d"].isna().all()


def test_the_booster_takes_the_rates(model: ClvModel) -> None:  # noqa: F811
    assert model.config.rate_features
    assert set(RATE_FEATURES) <= set(model.encoding.feature_names)


def test_bundle_saved_before_the_rates_scores_as_it_did(
    snapshots: tuple[Snapshot, Snapshot],  # noqa: F811
    tmp_path: Path,
) -> None:
    """A bundle from before the rates (no rate_features key, no rate columns in its
    encoding) loads with the setting off and gives exactly the predictions it gave."""
    before = clv.fit(snapshots[0], ClvConfig(n_draws=100, rate_features=False))
    assert not set(RATE_FEATURES) & set(before.encoding.feature_names)
    before.save(tmp_path)
    path = next(p for p in tmp_path.iterdir() if p.suffix == ".json")
    manifest = json.loads(path.read_text())
    del manifest["config"]["rate_features"]
    path.write_text(json.dumps(manifest))
    old = ClvModel.load(tmp_path)
    assert old.config.rate_features is False
    features = _features(snapshots[1])
    pd.testing.assert_frame_equal(old.predict_frame(features), before.predict_frame(features))
