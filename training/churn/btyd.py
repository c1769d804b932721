"""BTYD outputs as churn features: P(alive), P(no purchase in the label window) and
expected purchases, from a BG/NBD, MBG/NBD or Pareto/NBD fitted on the training snapshot.

The purchase models need no labels, so their parameters are fitted on the training
snapshot's histories and stored in the churn bundle; every row (training or scoring) gets
the outputs conditional on its own (frequency, recency, T). Rows without a purchase get
NaN, which the booster treats as missing.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from training.clv.btyd_part import BTYD_COLUMNS, BtydParams, fit_btyd
from training.clv.holdout import probability_no_purchase

BTYD_FEATURES = (
    "btyd_prob_alive",
    "btyd_p_no_purchase",
    "btyd_expected_purchases",
    "recency_over_gap",
    "purchase_rate",
)
P_CLIP = 1e-6


def fit_churn_btyd(frame: pd.DataFrame) -> BtydParams:
    """BG/NBD and the alive model with the best calibration log-likelihood, on spend."""
    return fit_btyd(frame, "spend", "auto")


def btyd_features(params: BtydParams, features: pd.DataFrame, days: int) -> pd.DataFrame:
    """The BTYD_FEATURES of every row over the next ``days``; NaN without a purchase."""
    n = len(features)
    out = {name: np.full(n, np.nan) for name in BTYD_FEATURES}
    columns = {c: _column(features, c) for c in BTYD_COLUMNS[:3]}
    t = columns["btyd_T"]
    ok = np.isfinite(t) & (t >= 0)  # as clv.btyd_part.has_purchase: T = 0 included
    if ok.any():
        hist = [columns[c][ok] for c in BTYD_COLUMNS[:3]]
        alive = params.alive()
        out["btyd_prob_alive"][ok] = alive.conditional_probability_alive(*hist)
        out["btyd_p_no_purchase"][ok] = probability_no_purchase(alive, days, *hist)
        out["btyd_expected_purchases"][ok] = alive.conditional_expected_purchases(days, *hist)
    # scale-free shapes of the history, which carry over between training and scoring
    # dates although the customers have aged: days since the last purchase in usual gaps,
    # and purchase days per day of history
    num = lambda c: _column(features, c)  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recency_over_gap"] = num("recency_days") / num("ipt_mean_days")
        out["purchase_rate"] = num("n_purchase_days") / (num("btyd_T") + 1.0)
    return pd.DataFrame(out, index=features.index)


def _column(features: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as floats; all NaN when the input lacks it (the booster's missing
    column check then names it)."""
    if name not in features.columns:
        return np.full(len(features), np.nan)
    values = features[name].to_numpy()
    try:
        return cast(np.ndarray, values.astype("float64"))
    except (TypeError, ValueError):
        return cast(np.ndarray, pd.to_numeric(features[name], errors="coerce").to_numpy("float64"))


def logit_offset(p_no_purchase: np.ndarray, fallback: float) -> np.ndarray:
    """The booster's base margin: logit of the BTYD churn probability (``fallback``, the
    training base rate, for rows without one), so the trees learn a correction of BTYD."""
    p = np.where(np.isfinite(p_no_purchase), p_no_purchase, fallback)
    p = np.clip(p, P_CLIP, 1.0 - P_CLIP)
    return cast(np.ndarray, np.log(p) - np.log1p(-p))
