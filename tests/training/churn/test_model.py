"""Churn model: learns a known answer, is calibrated, monotone in recency, round-trips."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tests.training.churn.conftest import frame_snapshot, true_churn_probability
from training.churn import ChurnConfig, ChurnModel, fit
from training.data.snapshot import Snapshot


@pytest.fixture(scope="module")
def holdout() -> Snapshot:
    return frame_snapshot(4000, seed=2)


def test_learns_recency_close_to_the_known_answer(fitted: ChurnModel, holdout: Snapshot) -> None:
    rows = holdout.frame
    y = rows["label_churn"].to_numpy()
    oracle = roc_auc_score(y, true_churn_probability(rows["recency_days"].to_numpy()))
    model_auc = roc_auc_score(y, fitted.predict_proba(rows))
    assert model_auc > 0.8
    assert model_auc > oracle - 0.03


def test_beats_models_trained_on_shuffled_labels(
    train_snapshot: Snapshot, fitted: ChurnModel, holdout: Snapshot
) -> None:
    """Shuffled labels carry no signal, but the +1 recency constraint is a correct prior
    here: a noise model that happens to split on recency ranks well by luck (seen: one
    tree, AUC 0.83; the calibration keeps the booster's ranking). What it cannot do is
    predict: its Brier skill over the base rate is about 0, the real model's far above."""
    frame = train_snapshot.frame
    y = holdout.frame["label_churn"].to_numpy()

    def skill(p: np.ndarray) -> float:
        return float(1.0 - np.mean((p - y) ** 2) / np.mean((y.mean() - y) ** 2))

    noise_aucs, noise_skills = [], []
    for seed in range(3):
        labels = np.random.default_rng(seed).permutation(frame["label_churn"].to_numpy())
        noise = fit(replace(train_snapshot, frame=frame.assign(label_churn=labels)))
        p = noise.predict_proba(holdout.frame)
        noise_aucs.append(roc_auc_score(y, p))
        noise_skills.append(skill(p))
    served = fitted.predict_proba(holdout.frame)
    assert max(noise_skills) < 0.1
    assert skill(served) > max(noise_skills) + 0.4
    assert roc_auc_score(y, served) > np.mean(noise_aucs) + 0.2


def test_calibrated_mean_matches_the_held_out_base_rate(
    fitted: ChurnModel, holdout: Snapshot
) -> None:
    prob = fitted.predict_proba(holdout.frame)
    base = holdout.frame["label_churn"].mean()
    assert abs(prob.mean() - base) < 0.03
    assert prob.min() >= 0 and prob.max() <= 1


def test_risk_never_falls_as_days_since_last_purchase_grow(
    fitted: ChurnModel, holdout: Snapshot
) -> None:
    sweep = np.arange(0, 401, 5, dtype="float64")
    for _, customer in holdout.frame.head(12).iterrows():
        grid = pd.DataFrame([customer] * len(sweep)).assign(recency_days=sweep)
        prob, raw = fitted.predict_proba(grid), fitted.raw_score(grid)
        assert np.all(np.diff(raw) >= 0)
        assert np.all(np.diff(prob) >= 0)
        assert prob[-1] > prob[0]
    assert fitted.manifest()["monotone_constraints"][0] == 1


def test_save_load_round_trip_is_exact(
    fitted: ChurnModel, holdout: Snapshot, tmp_path: Path
) -> None:
    fitted.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["booster.ubj", "manifest.json"]
    loaded = ChurnModel.load(tmp_path)
    before, after = fitted.predict_frame(holdout.frame), loaded.predict_frame(holdout.frame)
    np.testing.assert_array_equal(before["churn_probability"], after["churn_probability"])
    assert before["churn_reasons"].tolist() == after["churn_reasons"].tolist()


def test_manifest_alone_reproduces_the_probability(
    fitted: ChurnModel, holdout: Snapshot, tmp_path: Path
) -> None:
    """What the service does: numpy + xgboost from the saved folder, no training code."""
    import xgboost as xgb

    fitted.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    booster = xgb.Booster(model_file=str(tmp_path / manifest["booster_file"]))
    frame = holdout.frame.head(50)
    columns = []
    for name, kind in zip(manifest["feature_names"], manifest["feature_types"], strict=True):
        if kind == "c":
            cats = manifest["categories"][name]
            columns.append([cats.index(v) if v in cats else np.nan for v in frame[name]])
        else:
            columns.append(frame[name].to_numpy(dtype="float64"))
    matrix = np.column_stack(columns).astype(np.float32)
    dm = xgb.DMatrix(
        matrix,
        feature_names=manifest["feature_names"],
        feature_types=manifest["feature_types"],
        enable_categorical=True,
    )
    cal = manifest["calibration"]
    raw = booster.predict(dm).astype("float64")
    d = cal["tie_break"]
    prob = (1 - d) * np.interp(raw, cal["x"], cal["y"]) + d * raw
    np.testing.assert_allclose(prob, fitted.predict_proba(frame), rtol=0, atol=1e-12)


def test_calibration_keeps_the_booster_ranking(fitted: ChurnModel, holdout: Snapshot) -> None:
    """The plain isotonic map is flat over score ranges and makes ties of customers the
    booster told apart (lower AUC); the tie-break keeps every distinction, moves no
    probability by more than the tie-break and still yields a calibrated mean."""
    y = holdout.frame["label_churn"].to_numpy()
    raw = fitted.raw_score(holdout.frame)
    served = fitted.predict_proba(holdout.frame)
    plain = replace(fitted, config=replace(fitted.config, calibration_tie_break=0.0))
    iso = plain.predict_proba(holdout.frame)
    assert len(np.unique(iso)) < len(np.unique(raw))  # the flat steps: ties
    assert len(np.unique(served)) == len(np.unique(raw))
    assert roc_auc_score(y, served) == pytest.approx(roc_auc_score(y, raw), abs=1e-12)
    assert roc_auc_score(y, served) > roc_auc_score(y, iso)
    assert np.max(np.abs(served - iso)) <= fitted.config.calibration_tie_break + 1e-12


def test_bundle_saved_before_the_tie_break_keeps_the_plain_isotonic_map(
    fitted: ChurnModel, holdout: Snapshot, tmp_path: Path
) -> None:
    fitted.save(tmp_path)
    path = tmp_path / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["config"]["calibration_tie_break"]
    del manifest["calibration"]["tie_break"]
    path.write_text(json.dumps(manifest))
    old = ChurnModel.load(tmp_path)
    assert old.config.calibration_tie_break == 0.0
    cal = manifest["calibration"]
    expected = np.interp(old.raw_score(holdout.frame), cal["x"], cal["y"])
    np.testing.assert_array_equal(old.predict_proba(holdout.frame), expected)


def test_unseen_and_missing_categories_do_not_crash(fitted: ChurnModel, holdout: Snapshot) -> None:
    odd = holdout.frame.head(3).assign(attr_region=["mars", None, "north"])
    out = fitted.predict_frame(odd)
    assert list(out.columns) == ["customer_id", "churn_probability", "churn_reasons"]
    assert out["churn_probability"].notna().all()


def test_missing_feature_column_is_a_clear_error(fitted: ChurnModel, holdout: Snapshot) -> None:
    with pytest.raises(ValueError, match="recency_days"):
        fitted.predict_frame(holdout.frame.drop(columns=["recency_days"]))


def test_partial_churn_trains_only_where_the_label_is_defined(train_snapshot: Snapshot) -> None:
    model = fit(train_snapshot, ChurnConfig(target="partial_churn", n_estimators=50))
    info = model.info
    defined = int(train_snapshot.frame["label_partial_churn"].notna().sum())
    assert defined < len(train_snapshot.frame)
    assert info["n_train"] + info["n_valid"] + info["n_calib"] == defined
    assert model.manifest()["label_column"] == "label_partial_churn"


def test_no_positive_labels_is_a_clear_error(train_snapshot: Snapshot) -> None:
    frame = train_snapshot.frame.assign(label_churn=0.0)
    with pytest.raises(ValueError, match="no positive labels"):
        fit(replace(train_snapshot, frame=frame))


def test_too_few_customers_states_the_minimum() -> None:
    with pytest.raises(ValueError, match="at least 200 customers"):
        fit(frame_snapshot(150, seed=5))


def test_unlabelled_snapshot_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="has no labels"):
        fit(frame_snapshot(500, seed=6, labelled=False))


def test_unknown_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="target must be one of"):
        ChurnConfig(target="lapsed")


def test_reasons_can_be_limited_to_risky_customers(fitted: ChurnModel, holdout: Snapshot) -> None:
    """Batch scoring may skip the costly reasons below a probability; scores are unchanged."""
    features = holdout.frame
    full = fitted.predict_frame(features)
    some = fitted.predict_frame(features, reasons_from=0.5)
    assert (full["churn_probability"] == some["churn_probability"]).all()
    risky = some["churn_probability"] >= 0.5
    assert (some.loc[risky, "churn_reasons"] == full.loc[risky, "churn_reasons"]).all()
    assert (some.loc[~risky, "churn_reasons"] == "").all()
    assert risky.any() and (~risky).any()
