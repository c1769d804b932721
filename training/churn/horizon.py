"""Churn probabilities for a horizon other than the label window the model learned.

The model learns P(no purchase in the next L days). For H days it answers
p_H = p_L × P(no purchase in H | history) ÷ P(no purchase in L | history), the ratio taken
from its BTYD purchase model (the customer's own conditional probability of staying
silent from day L to day H, given silence up to L; above 1 when H < L), clipped to
[0, 1]. Rows without a purchase history, and models without BTYD features, use a
constant hazard: p_H = p_L ^ (H / L) (a silent month twice over is as likely as the first,
squared). ``cintel backtest`` reports the Brier score of the rescaled probabilities at
several horizons beside the BTYD models' own.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from training.clv.btyd_part import BTYD_COLUMNS, BtydParams, has_purchase
from training.clv.holdout import probability_no_purchase

METHOD = "p_L x BTYD P(no purchase in H) / P(no purchase in L); p_L^(H/L) without history"


def rescale(
    p_label: np.ndarray,
    label_days: int,
    days: int,
    features: pd.DataFrame,
    btyd: BtydParams | None,
) -> np.ndarray:
    """``p_label`` (P(no purchase in ``label_days``)) as P(no purchase in ``days``)."""
    p = np.asarray(p_label, dtype="float64")
    if days == label_days:
        return p
    out = np.clip(p, 0.0, 1.0) ** (days / label_days)
    if btyd is not None and len(features):
        ok = has_purchase(features)
        if ok.any():
            hist = [
                pd.to_numeric(features.loc[ok, c], errors="coerce").to_numpy(dtype="float64")
                for c in BTYD_COLUMNS[:3]
            ]
            alive = btyd.alive()
            at_days = probability_no_purchase(alive, days, *hist)
            at_label = probability_no_purchase(alive, label_days, *hist)
            ratio = at_days / np.maximum(at_label, 1e-12)
            out[ok] = np.clip(p[ok] * ratio, 0.0, 1.0)
    return cast(np.ndarray, out)
