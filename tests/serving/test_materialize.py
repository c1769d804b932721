"""Batch scoring for the online store: threads and chunks change the speed, not the results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import serving.batch.materialize as materialize
from serving.batch.materialize import load_champions, score_all
from serving.settings import ServiceSettings
from training.data.contract import CleanData
from training.data.snapshot import build_snapshot


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
    # nor do the chunks: one chunk of everyone gives the same profiles, CLV interval included
    monkeypatch.setattr(materialize, "CHUNK", 50_000)
    pd.testing.assert_frame_equal(score_all(features, scorers, threads=1), serial)
    assert serial["clv_12m_p90"].nunique() > len(serial) // 4


def test_approximate_reasons_change_only_the_reasons(
    trained_home: tuple[Path, CleanData],
) -> None:
    home, data = trained_home
    scorers, _ = load_champions(ServiceSettings(home=home))
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    exact = score_all(features, scorers)
    approx = score_all(features, scorers, approx_reasons=True)
    pd.testing.assert_frame_equal(
        exact.drop(columns="churn_reasons"), approx.drop(columns="churn_reasons")
    )
    with_exact, with_approx = exact["churn_reasons"].ne(""), approx["churn_reasons"].ne("")
    assert with_exact.sum() > 100
    assert (with_exact == with_approx).mean() > 0.95  # the same customers get reasons
    first = lambda s: s.str.split("; ").str[0]  # noqa: E731
    agree = (first(exact["churn_reasons"]) == first(approx["churn_reasons"]))[with_exact].mean()
    assert 0.5 < agree < 1.0  # mostly the same top driver, but a different method
