"""The learned uplift against a simulator-style truth table (``training.uplift.truth``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from training.data.snapshot import Snapshot
from training.uplift import UpliftModel
from training.uplift.truth import spearman, true_uplift, truth_agreement

from .synthetic import Synthetic


def _simulator_truth(syn: Synthetic) -> pd.DataFrame:
    """The synthetic truth in ``ground_truth_responses`` form (family ``*`` = any)."""
    t = syn.truth
    return pd.DataFrame(
        {
            "customer_id": t["customer_id"].to_numpy(),
            "family": np.where(t["arm"] == "any", "*", t["arm"]),
            "p_buy_control": t["p_control"].to_numpy(),
            "p_buy_treated": t["p_treated"].to_numpy(),
        }
    )


def test_spearman_is_a_rank_correlation() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert spearman(a, a**3) == 1.0
    assert spearman(a, -a) == -1.0
    assert math.isnan(spearman(a, np.ones(4)))  # no spread
    assert math.isnan(spearman(a[:2], a[:2]))


def test_true_uplift_maps_arms_to_the_truth_families() -> None:
    truth = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2],
            "family": ["fresh_food", "*", "fresh_food", "*"],
            "p_buy_control": [0.1, 0.5, 0.2, 0.4],
            "p_buy_treated": [0.4, 0.5, 0.1, 0.6],
        }
    )
    ids = np.array(["2", "1", "3"])
    assert np.allclose(true_uplift(truth, "fresh_food", ids)[:2], [-0.1, 0.3])
    assert math.isnan(true_uplift(truth, "fresh_food", ids)[2])  # unknown customer
    assert np.allclose(true_uplift(truth, "any", ids)[:2], [0.2, 0.0])


def test_a_fitted_model_ranks_like_the_truth(
    syn: Synthetic, tables: tuple[Snapshot, Snapshot], model: UpliftModel
) -> None:
    held = tables[1]
    figures = truth_agreement(model, held, _simulator_truth(syn))
    assert figures["n_truth"] > 500
    assert figures["spearman_true"] > 0.3  # the synthetic effects follow the features
    assert figures["spearman_true__bakery"] == figures["spearman_true"]  # one family arm
    assert 0 < figures["true_gain"] <= 1
    truth = syn.truth[syn.truth["arm"] == "bakery"]
    in_held = truth["customer_id"].astype(str).isin(held.frame["customer_id"].astype(str))
    effect = truth.loc[in_held, "p_treated"] - truth.loc[in_held, "p_control"]
    assert abs(figures["true_ate__bakery"] - effect.mean()) < 0.02


def test_without_truth_rows_nothing_is_claimed(
    tables: tuple[Snapshot, Snapshot], model: UpliftModel
) -> None:
    empty = pd.DataFrame(columns=["customer_id", "family", "p_buy_control", "p_buy_treated"])
    assert truth_agreement(model, tables[1], empty) == {}
