"""How good a potential model is: quantile loss and coverage, and (simulated data) the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from training.data.snapshot import Snapshot
from training.potential.model import SPEND, PotentialModel, training_rows, yearly_spend

MAIN_METRIC = "pinball_loss_rel"
GREATER_IS_BETTER = False
# at alpha 0.9 about 90 % of comparable customers spend below their potential
FLOORS = {"coverage": 0.7}
FULL_YEAR = 365.0
TRUTH_TARGET = 0.6  # the target for the rank correlation of the share of wallet


def pinball(y: np.ndarray, q: np.ndarray, alpha: float) -> float:
    """Mean quantile (pinball) loss of the ``alpha`` quantile ``q`` of ``y``."""
    diff = y - q
    return float(np.mean(np.maximum(alpha * diff, (alpha - 1) * diff)))


def evaluate(model: PotentialModel, snapshot: Snapshot) -> dict[str, float]:
    """On the snapshot's customers the model is fitted for (``training_rows``): pinball
    loss of the yearly spend ÷ its mean (lower is better), coverage (share spending at most
    their raw potential, ~alpha); and the mean share of wallet of every customer who
    bought in the year."""
    rows = training_rows(snapshot.frame, model.config)
    if rows.empty:
        raise ValueError("potential: no customer with a full year and spend to evaluate on")
    y = yearly_spend(rows, model.config.min_tenure_days)
    q = model.raw(rows)
    bought = snapshot.frame[snapshot.frame[SPEND] > 0]
    share = model.predict_frame(bought)["share_of_wallet"].to_numpy()
    return {
        MAIN_METRIC: pinball(y, q, model.config.quantile_alpha) / max(float(np.mean(y)), 1e-9),
        "coverage": float(np.mean(y <= q)),
        "mean_share_of_wallet": float(np.mean(share)) if len(share) else float("nan"),
        "n_eval": float(len(rows)),
    }


def truth_metrics(
    model: PotentialModel, snapshot: Snapshot, ground_truth: pd.DataFrame
) -> dict[str, float]:
    """Spearman correlations with the simulator's truth (``true_wallet_12m``): estimated vs
    true share of wallet (yearly spend ÷ true wallet, at most 1) and potential vs true
    wallet, over the customers of a full year who bought in it (the headline figure, target
    ``TRUTH_TARGET``) and over every customer who bought in the year (``_all_buyers``:
    newcomers' product mix and basket size are still noisy). Empty when the ground truth has
    no wallet (data that was not simulated, or an older simulation)."""
    if "true_wallet_12m" not in ground_truth.columns:
        return {}
    frame = snapshot.frame[snapshot.frame[SPEND] > 0]
    wallet = ground_truth.set_index("customer_id")["true_wallet_12m"]
    true_wallet = wallet.reindex(frame["customer_id"].to_numpy()).to_numpy(dtype="float64")
    ok = np.isfinite(true_wallet) & (true_wallet > 0)
    frame, true_wallet = frame[ok], true_wallet[ok]
    pred = model.predict_frame(frame)
    share = pred["share_of_wallet"].to_numpy()
    potential = pred["potential_value_12m"].to_numpy()
    spend = yearly_spend(frame, model.config.min_tenure_days)
    true_share = np.clip(spend / true_wallet, 0, 1)
    full = (frame["tenure_days"] >= FULL_YEAR).to_numpy()
    out: dict[str, float] = {}
    for suffix, rows in (("", full), ("_all_buyers", np.ones(len(frame), bool))):
        if rows.sum() < 10:
            continue
        out[f"truth_spearman_share_of_wallet{suffix}"] = float(
            spearmanr(share[rows], true_share[rows]).statistic
        )
        out[f"truth_spearman_potential_vs_wallet{suffix}"] = float(
            spearmanr(potential[rows], true_wallet[rows]).statistic
        )
        out[f"truth_n{suffix}"] = float(rows.sum())
    return out
