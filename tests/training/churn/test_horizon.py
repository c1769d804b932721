"""Churn for the horizon asked: the rescaling's known answers, and a model trained on a
short label window answering for a longer one (with BTYD features, saved and loaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.churn import ChurnConfig, ChurnModel, fit
from training.churn.btyd import BTYD_FEATURES, fit_churn_btyd
from training.churn.horizon import rescale
from training.clv.holdout import probability_no_purchase
from training.data.snapshot import Snapshot, build_snapshot

from .conftest import simulate_transactions

LABEL_DAYS = 45


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    data = simulate_transactions(3000, seed=4)
    return build_snapshot(data, pd.Timestamp("2024-09-01"), LABEL_DAYS, require_labels=True)


@pytest.fixture(scope="module")
def model(snapshot: Snapshot) -> ChurnModel:
    return fit(snapshot, ChurnConfig(seed=0))


def test_constant_hazard_without_a_history_model() -> None:
    p = np.array([0.81, 0.5, 1.0, 0.0])
    no_history = pd.DataFrame({"btyd_T": [np.nan] * 4})
    np.testing.assert_allclose(rescale(p, 30, 60, no_history, None), [0.6561, 0.25, 1.0, 0.0])
    np.testing.assert_allclose(rescale(p, 30, 15, no_history, None), [0.9, np.sqrt(0.5), 1.0, 0.0])
    assert rescale(p, 30, 30, no_history, None) is not None
    np.testing.assert_array_equal(rescale(p, 30, 30, no_history, None), p)


def test_a_btyd_probability_rescales_to_the_btyd_probability(snapshot: Snapshot) -> None:
    params = fit_churn_btyd(snapshot.frame)
    rows = snapshot.frame.loc[snapshot.frame["btyd_T"].notna()].head(300).reset_index(drop=True)
    hist = [rows[c].to_numpy(dtype="float64") for c in ("btyd_frequency", "btyd_recency", "btyd_T")]
    alive = params.alive()
    p_label = probability_no_purchase(alive, LABEL_DAYS, *hist)
    for days in (20, 90, 180):
        want = probability_no_purchase(alive, days, *hist)
        np.testing.assert_allclose(rescale(p_label, LABEL_DAYS, days, rows, params), want)


def test_fit_uses_btyd_outputs_as_features(model: ChurnModel) -> None:
    assert model.btyd is not None and model.btyd_days == LABEL_DAYS
    assert set(BTYD_FEATURES) <= set(model.encoding.feature_names)
    assert model.info["btyd_alive_model"] in ("bgnbd", "mbgnbd", "pareto_nbd")


def test_served_horizon_answers_for_the_days_asked(
    model: ChurnModel, snapshot: Snapshot, tmp_path: Path
) -> None:
    features = snapshot.frame[["customer_id", *snapshot.feature_columns]].head(500)
    short = model.predict_proba(features)
    served = model.at_horizon(180)
    assert (served.label_days, served.served_days) == (LABEL_DAYS, 180)
    long = served.predict_proba(features)
    np.testing.assert_allclose(long, model.predict_proba(features, 180))
    buyers = features["btyd_T"].notna().to_numpy()
    assert (long[buyers] <= short[buyers] + 1e-12).all()  # 180 silent days are rarer
    assert long[buyers].mean() < short[buyers].mean() - 0.02
    served.save(tmp_path / "m")
    again = ChurnModel.load(tmp_path / "m")
    assert again.served_days == 180
    np.testing.assert_allclose(again.predict_proba(features), long)
    frame = again.predict_frame(features.head(20))
    np.testing.assert_allclose(frame["churn_probability"], long[:20])
    assert frame["churn_reasons"].str.len().sum() > 0
