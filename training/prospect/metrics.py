"""How good a prospect model is, on a later signup cohort's first year (out of time)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from training.data.features import slugs
from training.data.snapshot import Snapshot
from training.prospect.cohort import BUY_PREFIX, LABEL, MARGIN
from training.prospect.model import ProspectModel

MAIN_METRIC = "auc_top_tier"
GREATER_IS_BETTER = True
# better than chance at telling who becomes top tier, or it is no look-alike
FLOORS = {"auc_top_tier": 0.52}


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan")


def evaluate(model: ProspectModel, snapshot: Snapshot) -> dict[str, float]:
    """On the evaluation cohort: the AUC of becoming top tier within a year (look-alike
    score; and ranking by expected value), the top-tier rate in the score's top decile over
    the cohort's rate (lift), the rank correlation and root mean squared error of the
    expected first-year value (and the error of the training mean for everyone), and how
    often the first offer's family was bought in the first year, over how often the cohort
    bought that family (``first_offer_lift`` > 1: the offer found who wants it)."""
    frame = snapshot.frame
    if frame.empty:
        raise ValueError("prospect: the evaluation cohort is empty")
    pred = model.predict_frame(frame)
    y = frame[LABEL].to_numpy(dtype="float64")
    score = pred["lookalike_score"].to_numpy()
    value = pred["expected_first_year_value"].to_numpy()
    actual = frame[MARGIN].to_numpy(dtype="float64")
    top = np.argsort(-score, kind="stable")[: max(len(score) // 10, 1)]
    rate = float(y.mean())
    buys = frame[[f"{BUY_PREFIX}{s}" for s in slugs(list(model.families))]].to_numpy("float64")
    best = pd.Index(model.families).get_indexer(pd.Index(pred["first_offer_family"]))
    hit = float(buys[np.arange(len(buys)), best].mean())
    expected = float(buys.mean(axis=0)[best].mean())
    mean = float(model.info["mean_first_year_value"])
    return {
        MAIN_METRIC: _auc(y, score),
        "auc_top_tier_by_value": _auc(y, value),
        "top_tier_rate": rate,
        "lift_top_decile": float(y[top].mean()) / rate if rate > 0 else float("nan"),
        "spearman_first_year_value": float(spearmanr(value, actual).statistic),
        "rmse_first_year_value": float(np.sqrt(np.mean((value - actual) ** 2))),
        "rmse_first_year_value_baseline": float(np.sqrt(np.mean((mean - actual) ** 2))),
        "first_offer_hit_rate": hit,
        "first_offer_lift": hit / expected if expected > 0 else float("nan"),
        "n_eval": float(len(frame)),
    }


def truth_metrics(
    model: ProspectModel, snapshot: Snapshot, ground_truth: pd.DataFrame
) -> dict[str, float]:
    """Simulated data: the ceiling of any attribute-only score. The simulator draws the
    attributes from each customer's archetype (and nothing else), so no look-alike can
    beat knowing the archetype: ``truth_auc_top_tier_archetype`` ranks the evaluation
    cohort by its own archetypes' top-tier rates (in-sample, so slightly optimistic)."""
    if "archetype" not in ground_truth.columns:
        return {}
    frame = snapshot.frame
    arch = ground_truth.set_index("customer_id")["archetype"].astype(str)
    arch = arch.reindex(frame["customer_id"].to_numpy())
    if arch.isna().any():
        return {}
    y = frame[LABEL].to_numpy(dtype="float64")
    rates = pd.Series(y).groupby(arch.to_numpy()).transform("mean").to_numpy()
    return {"truth_auc_top_tier_archetype": _auc(y, rates)}
