"""cintel-clv: round trip, value destroyers, customers without history, metrics, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training import clv
from training.clv import ClvConfig, ClvModel
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, SynthData, synthesize
from training.data.snapshot import Snapshot, build_snapshot

EXPECTED_METRICS = {
    f"{metric}_{model}"
    for metric in ("normalized_gini", "spearman", "decile_mape", "mae", "aggregate_error")
    for model in ("learned", "btyd", "naive")
} | {"normalized_gini", "bgnbd_loglik", "gg_loglik", "n_eval_customers"}


@pytest.fixture(scope="module")
def synth() -> SynthData:
    return synthesize(SynthConfig(n_customers=3000, start="2024-07-01", end="2025-06-30", seed=3))


@pytest.fixture(scope="module")
def snapshots(synth: SynthData) -> tuple[Snapshot, Snapshot]:
    data = validate(synth.transactions, synth.customers)
    train = build_snapshot(data, "2025-01-01", 90, require_labels=True)
    evaluation = build_snapshot(data, "2025-04-01", 90, require_labels=True)
    return train, evaluation


@pytest.fixture(scope="module")
def model(snapshots: tuple[Snapshot, Snapshot]) -> ClvModel:
    return clv.fit(snapshots[0], ClvConfig(n_draws=100))


@pytest.fixture(scope="module")
def metrics(model: ClvModel, snapshots: tuple[Snapshot, Snapshot]) -> dict[str, float]:
    return clv.evaluate(model, snapshots[1])


def _features(snapshot: Snapshot) -> pd.DataFrame:
    return snapshot.frame[["customer_id", *snapshot.feature_columns]]


def test_round_trip_gives_identical_predictions(
    model: ClvModel, snapshots: tuple[Snapshot, Snapshot], tmp_path: Path
) -> None:
    model.save(tmp_path)
    assert sorted(p.suffix for p in tmp_path.iterdir()) <= [".json", ".ubj", ".ubj"]
    loaded = ClvModel.load(tmp_path)
    features = _features(snapshots[1])
    pd.testing.assert_frame_equal(model.predict_frame(features), loaded.predict_frame(features))
    assert loaded.mlflow_params() == model.mlflow_params()
    params = model.mlflow_params()
    alive = params["alive_model_fitted"]
    alive_names = ("r", "alpha", "s", "beta") if alive == "pareto_nbd" else ("r", "alpha", "a", "b")
    assert set(params) == {
        "bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "gg_p", "gg_q", "gg_gamma",
        "alive_model_fitted", *(f"alive_{k}" for k in alive_names),
    }  # fmt: skip


@pytest.mark.slow
def test_alive_model_lets_one_time_buyers_die_and_scores_day_one_customers(
    snapshots: tuple[Snapshot, Snapshot],
) -> None:
    features = _features(snapshots[1])
    one_time = (features["btyd_frequency"] == 0).to_numpy()
    assert one_time.sum() > 50
    day_one = features.loc[one_time].iloc[[0]].assign(btyd_recency=0.0, btyd_T=0.0, customer_id=-2)
    frame = pd.concat([features, day_one], ignore_index=True)
    by_model = {}
    for name in ("bgnbd", "mbgnbd", "pareto_nbd"):
        fitted = clv.fit(snapshots[0], ClvConfig(n_draws=20, alive_model=name))
        assert fitted.btyd.alive_model == name
        by_model[name] = fitted.predict_frame(frame)["prob_alive"].to_numpy()
        assert np.isfinite(by_model[name]).all()  # T = 0 included
    assert (by_model["bgnbd"][:-1][one_time] == 1.0).all()
    for name in ("mbgnbd", "pareto_nbd"):
        # only customers first seen on the last day (T = 0) may still be certainly alive
        assert (by_model[name][:-1][one_time] >= 0.999).mean() < 0.05
        assert by_model[name][:-1][one_time].mean() < 0.9


@pytest.mark.slow
def test_auto_takes_the_best_calibration_loglik(snapshots: tuple[Snapshot, Snapshot]) -> None:
    from training.clv.btyd_part import ALIVE_MODELS, has_history

    frame = snapshots[0].frame.loc[has_history(snapshots[0].frame)]
    hist = [frame[c].to_numpy(dtype=float) for c in ("btyd_frequency", "btyd_recency", "btyd_T")]
    best = max(ALIVE_MODELS, key=lambda n: ALIVE_MODELS[n]().fit(*hist).loglik_)
    model = clv.fit(snapshots[0], ClvConfig(n_draws=20, alive_model="auto"))
    assert model.btyd.alive_model == best


def test_output_columns_and_interval(model: ClvModel, snapshots: tuple[Snapshot, Snapshot]) -> None:
    out = model.predict_frame(_features(snapshots[1]))
    assert tuple(out.columns) == clv.OUTPUT_COLUMNS
    assert len(out) == len(snapshots[1].frame)
    assert (out["clv_12m_p10"] <= out["clv_12m"] + 1e-9).all()
    assert (out["clv_12m"] <= out["clv_12m_p90"] + 1e-9).all()
    pos = out["clv_12m"] > 0
    assert (out.loc[pos, "clv_3m"] <= out.loc[pos, "clv_6m"]).all()
    assert (out.loc[pos, "clv_6m"] <= out.loc[pos, "clv_12m"]).all()
    assert set(out["clv_model"]) <= {"learned", "btyd"}


def test_value_destroyers_keep_negative_clv(
    model: ClvModel, snapshots: tuple[Snapshot, Snapshot], synth: SynthData
) -> None:
    out = model.predict_frame(_features(snapshots[1])).merge(
        synth.ground_truth[["customer_id", "value_destroyer"]], on="customer_id"
    )
    destroyers = out[out["value_destroyer"]]
    others = out[~out["value_destroyer"]]
    assert len(destroyers) > 20
    assert destroyers["learned_clv_horizon"].median() < 0 < others["learned_clv_horizon"].median()
    assert (destroyers["clv_12m"] < 0).mean() > 0.5


def test_customers_without_purchases_are_scored(
    model: ClvModel, snapshots: tuple[Snapshot, Snapshot]
) -> None:
    row = _features(snapshots[1]).iloc[[0]]
    zero = {c: 0.0 for c in row.columns if row[c].dtype.kind == "f" and c != "tenure_days"}
    missing = {c: np.nan for c in ("btyd_recency", "btyd_T", "recency_days", "ipt_mean_days")}
    new = row.assign(**{**zero, **missing}, customer_id=-1, attr_region="a region never seen")
    out = model.predict_frame(pd.concat([row, new], ignore_index=True))
    assert np.isnan(out.loc[1, "prob_alive"]) and np.isnan(out.loc[1, "expected_purchases"])
    values = out.loc[1, ["clv_3m", "clv_6m", "clv_12m", "clv_12m_p10", "clv_12m_p90"]]
    assert np.isfinite(values.astype(float)).all()
    assert out.loc[1, "clv_model"] == "learned"


def test_learned_beats_naive_on_simulated_data(metrics: dict[str, float]) -> None:
    assert metrics["normalized_gini_learned"] > metrics["normalized_gini_naive"] + 0.03
    assert metrics["decile_mape_learned"] < metrics["decile_mape_naive"]
    assert metrics["normalized_gini"] >= clv.FLOORS["normalized_gini"]


def test_metric_names_are_stable_and_finite(metrics: dict[str, float]) -> None:
    assert set(metrics) == EXPECTED_METRICS
    assert all(np.isfinite(v) for v in metrics.values())
    assert clv.MAIN_METRIC in metrics and clv.GREATER_IS_BETTER


def test_longer_horizon_rescales_by_expected_purchases(
    model: ClvModel, snapshots: tuple[Snapshot, Snapshot]
) -> None:
    features = _features(snapshots[1])
    short, long = model.predict_frame(features), model.predict_frame(features, horizon_days=180)
    ratio = long["expected_purchases"] / short["expected_purchases"]
    expected = short["learned_clv_horizon"] * ratio.fillna(2.0)
    np.testing.assert_allclose(long["learned_clv_horizon"], expected, rtol=1e-9)
    assert 1.0 < ratio.median() <= 2.0


def test_artifacts_are_written(
    model: ClvModel, snapshots: tuple[Snapshot, Snapshot], tmp_path: Path
) -> None:
    paths = clv.write_artifacts(model, snapshots[1], tmp_path)
    assert {p.name for p in paths} == {
        "clv_metrics.csv", "clv_deciles.csv", "clv_deciles.png", "clv_gains.png",
    }  # fmt: skip
    table = pd.read_csv(tmp_path / "clv_metrics.csv")
    assert list(table["model"]) == ["learned", "btyd", "naive"]


def test_unlabelled_snapshot_is_refused(snapshots: tuple[Snapshot, Snapshot]) -> None:
    snap = snapshots[0]
    features = _features(snap)
    unlabelled = Snapshot(features, snap.as_of, 90, False, snap.families, snap.channels)
    with pytest.raises(ValueError, match="labelled snapshot"):
        clv.fit(unlabelled)


def test_too_few_customers_is_refused(snapshots: tuple[Snapshot, Snapshot]) -> None:
    snap = snapshots[0]
    small = Snapshot(snap.frame.head(50), snap.as_of, 90, True, snap.families, snap.channels)
    with pytest.raises(ValueError, match="at least 200 customers"):
        clv.fit(small)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        ClvConfig(target="revenue")
    with pytest.raises(ValueError, match="alive_model"):
        ClvConfig(alive_model="coin")
