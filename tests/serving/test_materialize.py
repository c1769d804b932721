"""Batch scoring for the online store: threads change the speed, not the results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import serving.materialize as materialize
from serving.materialize import load_champions, score_all
from serving.settings import ServiceSettings
from training.contract import CleanData
from training.snapshot import build_snapshot


def test_threaded_scoring_equals_serial_scoring(
    trained_home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, data = trained_home
    scorers, _ = load_champions(ServiceSettings(home=home))
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    monkeypatch.setattr(materialize, "CHUNK", 400)  # 7 chunks of the 2,500 customers
    seen: list[str] = []
    serial = score_all(features, scorers, threads=1)
    threaded = score_all(features, scorers, seen.append, threads=2)
    pd.testing.assert_frame_equal(serial, threaded)
    assert len(seen) == 7 and len(threaded) == len(features)
    assert threaded["customer_id"].tolist() == features["customer_id"].tolist()
    assert threaded["churn_reasons"].ne("").any()  # the churn reasons were computed
