"""Churn evaluation out of time on simulated transactions, and the written artifacts."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tests.training.churn.conftest import simulate_transactions
from training.churn import (
    FLOORS,
    MAIN_METRIC,
    METRIC_NAMES,
    ChurnModel,
    evaluate,
    fit,
    write_artifacts,
)
from training.data.snapshot import Snapshot, build_snapshot


@pytest.fixture(scope="module")
def out_of_time() -> tuple[ChurnModel, Snapshot]:
    """Fit at t0 (labels in [t0, t0+90d)), evaluate at t0+90d on the next window."""
    data = simulate_transactions(3000, seed=3)
    t0 = build_snapshot(data, "2024-04-01", 90, require_labels=True)
    t1 = build_snapshot(data, "2024-06-30", 90, require_labels=True)
    return fit(t0), t1


def test_out_of_time_metrics_are_complete_and_pass_the_floors(
    out_of_time: tuple[ChurnModel, Snapshot],
) -> None:
    model, later = out_of_time
    metrics = evaluate(model, later)
    assert tuple(metrics) == METRIC_NAMES
    assert all(math.isfinite(v) for v in metrics.values())
    assert MAIN_METRIC in metrics
    assert all(metrics[k] >= floor for k, floor in FLOORS.items())
    assert metrics["roc_auc"] > 0.8
    assert metrics["lift_top_decile"] > 1.2
    assert 0 < metrics["capture_top_decile"] <= 1
    assert metrics["n_customers"] == later.frame["label_churn"].notna().sum()


def test_artifacts_are_written(out_of_time: tuple[ChurnModel, Snapshot], tmp_path: Path) -> None:
    model, later = out_of_time
    written = write_artifacts(model, later, tmp_path)
    names = {p.name for p in written}
    expected = {
        "roc.png",
        "pr.png",
        "calibration.png",
        "calibration.csv",
        "gains.png",
        "gains.csv",
        "shap_summary.png",
        "feature_importance.csv",
        "churner_profile.csv",
        "churner_profile.png",
        "top_risk_reasons.csv",
    }
    assert names == expected
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    profile = pd.read_csv(tmp_path / "churner_profile.csv")
    assert set(profile["kind"]) == {"numeric", "family", "channel", "attribute"}
    recency = profile.loc[profile["feature"] == "recency_days", "ratio"].item()
    assert recency > 1.5  # the riskiest customers have not bought for much longer
    importance = pd.read_csv(tmp_path / "feature_importance.csv")
    assert "recency_days" in importance["feature"].head(3).tolist()


def test_unlabelled_snapshot_skips_the_label_plots(
    out_of_time: tuple[ChurnModel, Snapshot], tmp_path: Path
) -> None:
    model, later = out_of_time
    unlabelled = Snapshot(
        later.frame[[*later.feature_columns, "customer_id"]],
        later.as_of,
        90,
        False,
        later.families,
        later.channels,
    )
    names = {p.name for p in write_artifacts(model, unlabelled, tmp_path)}
    assert "roc.png" not in names and "churner_profile.png" in names
    with pytest.raises(ValueError, match="has no labels"):
        evaluate(model, unlabelled)
