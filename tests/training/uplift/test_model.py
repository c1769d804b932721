"""The uplift model on randomized responses with a known heterogeneous effect: it ranks
better than the true baseline propensity, recovers the sign of each segment's effect,
passes its gate floors where there is something to learn and fails them where there is not."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training import uplift
from training.data.snapshot import Snapshot
from training.tasks import load_bundle
from training.uplift import UpliftConfig, UpliftModel, evaluate, fit, tables_from_responses

from .synthetic import NO_EFFECT, Synthetic, synthetic


def _floors_pass(metrics: dict[str, float]) -> bool:
    return all(metrics[name] >= bound for name, bound in uplift.FLOORS.items())


def test_uplift_ranks_better_than_the_true_propensity(
    model: UpliftModel, tables: tuple[Snapshot, Snapshot]
) -> None:
    metrics = evaluate(model, tables[1])
    for arm in ("bakery", "any"):
        # the propensity ranks sure things and sleeping dogs first: worse than random
        assert metrics[f"qini_propensity__{arm}"] < 0
        assert metrics[f"qini__{arm}"] > metrics[f"qini_propensity__{arm}"] + 0.15
        assert metrics[f"auuc__{arm}"] > metrics[f"auuc_propensity__{arm}"] + 0.15
    assert metrics["mean_qini"] > 0.1
    assert metrics["qini_gain_over_propensity"] > 0.2
    assert metrics["qini_above_random"] > 0
    assert _floors_pass(metrics)
    assert metrics["n_arms_fitted"] == metrics["n_arms_judged"] == 2


def test_recovers_the_sign_of_each_segments_effect(
    syn: Synthetic, model: UpliftModel, tables: tuple[Snapshot, Snapshot]
) -> None:
    held = tables[1].frame
    pred = model.predict_frame(held)
    for arm in ("bakery", "any"):
        truth = syn.truth[syn.truth["arm"] == arm].set_index("customer_id")["response_type"]
        by_type = pred.groupby(truth.reindex(pred["customer_id"]).to_numpy())[
            f"uplift_{arm}"
        ].mean()
        assert by_type["persuadable"] > 0.05, by_type
        assert by_type["sleeping_dog"] < 0, by_type
        # no-effect segments in between
        for neutral in ("sure_thing", "lost_cause"):
            assert by_type["sleeping_dog"] < by_type[neutral] < by_type["persuadable"], by_type


def test_no_heterogeneity_fails_the_gate_floors() -> None:
    null = synthetic(3000, seed=5, effects=NO_EFFECT, arms=("bakery",))
    train, held = tables_from_responses(null.data, null.responses, decisions=null.decisions)
    metrics = evaluate(fit(train), held)
    assert abs(metrics["ate__bakery"] - 0.05) < 0.06  # the constant effect is still seen
    assert not _floors_pass(metrics), metrics


def test_t_learner_and_a_skipped_arm(syn: Synthetic) -> None:
    # few responses for wine: the arm is skipped with its reason and scores NaN
    wine = syn.responses[syn.responses["family"] == "bakery"].head(60)
    responses = pd.concat([syn.responses, wine.assign(family="wine", offer_id="xs_wine_intro")])
    train, held = tables_from_responses(syn.data, responses, decisions=syn.decisions)
    model = fit(train, UpliftConfig(learner="t"))
    assert set(model.boosters_["bakery"]) == {"mu0", "mu1"}
    assert "wine" in model.skipped_ and "min_per_group" in model.skipped_["wine"]
    pred = model.predict_frame(held.frame)
    assert pred["uplift_wine"].isna().all() and pred["uplift_bakery"].between(-1, 1).all()
    metrics = evaluate(model, held)
    assert math.isnan(metrics["qini__wine"])  # too few held-out customers to judge
    assert metrics["qini__bakery"] > 0.1


def test_nothing_to_fit_is_a_clear_error(syn: Synthetic) -> None:
    few = syn.responses.head(40)
    train, _ = tables_from_responses(syn.data, few, decisions=syn.decisions)
    with pytest.raises(ValueError, match=r"no uplift arm could be fitted: bakery: .* treated"):
        fit(train)
    unmatured = syn.responses.assign(matured=False)
    with pytest.raises(ValueError, match="no matured outcomes"):
        tables_from_responses(syn.data, unmatured)


def test_save_and_load_native_files_only(
    model: UpliftModel, tables: tuple[Snapshot, Snapshot], tmp_path: Path
) -> None:
    model.save(tmp_path / "bundle")
    files = sorted(p.name for p in (tmp_path / "bundle").iterdir())
    boosters = [f"{a}__{p}.ubj" for a in ("bakery", "any") for p in ("mu0", "mu1", "tau0", "tau1")]
    assert files == sorted(["manifest.json", *boosters])
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["kind"] == "cintel-uplift" and manifest["learner"] == "x"
    loaded = load_bundle(tmp_path / "bundle")
    assert isinstance(loaded, UpliftModel)
    frame = tables[1].frame
    pd.testing.assert_frame_equal(loaded.predict_frame(frame), model.predict_frame(frame))
    assert list(model.predict_frame(frame).columns) == [
        "customer_id",
        "uplift_bakery",
        "uplift_any",
    ]


def test_scoring_needs_the_training_features(
    model: UpliftModel, tables: tuple[Snapshot, Snapshot]
) -> None:
    frame = tables[1].frame.drop(columns=["recency_days"])
    with pytest.raises(ValueError, match="features missing for the uplift model: recency_days"):
        model.predict_frame(frame)
    one = tables[1].frame.head(1)
    assert np.isfinite(model.predict_frame(one)["uplift_bakery"]).all()


def test_family_arms_share_one_learner_saved_once(tmp_path: Path) -> None:
    syn = synthetic(3000, seed=2, arms=("bakery", "beauty", "any"))
    train, held = tables_from_responses(syn.data, syn.responses, decisions=syn.decisions)
    model = fit(train)
    assert model.pooled_ == ("bakery", "beauty")
    assert model.boosters_["bakery"] is model.boosters_["beauty"]
    assert model.boosters_["any"] is not model.boosters_["bakery"]
    # each arm counts its own customers, not the pool's rows
    assert sum(model.n_train_["bakery"].values()) == len(train.frame)
    metrics = evaluate(model, held)
    for arm in ("bakery", "beauty"):
        assert metrics[f"qini__{arm}"] > metrics[f"qini_propensity__{arm}"] + 0.15, metrics
    model.save(tmp_path / "bundle")
    parts = ("mu0", "mu1", "tau0", "tau1")
    files = sorted(p.name for p in (tmp_path / "bundle").iterdir())
    assert files == sorted(
        ["manifest.json", *(f"families__{p}.ubj" for p in parts), *(f"any__{p}.ubj" for p in parts)]
    )
    loaded = load_bundle(tmp_path / "bundle")
    assert isinstance(loaded, UpliftModel) and loaded.pooled_ == model.pooled_
    pd.testing.assert_frame_equal(loaded.predict_frame(held.frame), model.predict_frame(held.frame))
    # the arms differ through their own family columns and indicator, not by chance
    pred = model.predict_frame(held.frame)
    assert not np.allclose(pred["uplift_bakery"], pred["uplift_beauty"])
    alone = fit(train, UpliftConfig(pool_families=False))
    assert alone.pooled_ == () and alone.boosters_["bakery"] is not alone.boosters_["beauty"]
