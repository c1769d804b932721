"""The learned uplift against the simulator's true uplift (``ground_truth_responses``).

Pure: the model, a table (the held-out customers) and the truth frame in; figures out. The
true uplift of a customer and family is ``p_buy_treated − p_buy_control`` over 30 days
(``training.data.simulator.responses``; ``*`` is the ``any`` arm). It includes each
customer's latent response type, drawn per family, which no feature shows: a rank
correlation near 1 is out of reach, 0 is a ranking that knows nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from training.data.features import slug
from training.data.snapshot import Snapshot
from training.uplift.config import ANY_ARM
from training.uplift.metrics import arm_rows, true_gain
from training.uplift.model import UpliftModel

TRUTH_ANY = "*"


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation (average ranks for ties); NaN with fewer than 3 pairs or no spread."""
    if len(a) < 3:
        return math.nan
    ra = pd.Series(a).rank().to_numpy()
    rb = pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def true_uplift(truth: pd.DataFrame, arm: str, customer_ids: np.ndarray) -> np.ndarray:
    """The true 30-day uplift of ``arm`` for each customer (NaN where the truth lacks one)."""
    family = truth["family"].astype(str)
    key = TRUTH_ANY if arm == ANY_ARM else arm
    rows = truth[family.map(lambda f: f if f == TRUTH_ANY else slug(f)) == key]
    effect = (rows["p_buy_treated"] - rows["p_buy_control"]).to_numpy(dtype="float64")
    by_id = pd.Series(effect, index=rows["customer_id"].astype(str).to_numpy())
    by_id = by_id[~by_id.index.duplicated()]
    return by_id.reindex(pd.Index(customer_ids).astype(str)).to_numpy(dtype="float64")


def truth_agreement(model: UpliftModel, table: Snapshot, truth: pd.DataFrame) -> dict[str, float]:
    """Per fitted arm and over all of them: ``spearman_true__<arm>`` (learned vs true
    uplift), ``true_gain__<arm>`` (``metrics.true_gain``: 0 random, 1 the true order) and
    ``true_ate__<arm>`` (the customers' mean true uplift); ``spearman_true`` and
    ``true_gain`` over the stacked rows of every family arm, ``true_ate`` their mean effect,
    ``n_truth`` the rows judged. Empty when no row has both."""
    x = model.matrix(table.frame)
    ids = table.frame["customer_id"].to_numpy()
    out: dict[str, float] = {}
    learned, true = [], []
    for arm in model.boosters_:
        rows, _t, _y = arm_rows(table, arm)
        score = model.uplift(arm, x[rows])
        effect = true_uplift(truth, arm, ids[rows])
        ok = np.isfinite(score) & np.isfinite(effect)
        if ok.sum() < 3:
            continue
        out[f"spearman_true__{arm}"] = spearman(score[ok], effect[ok])
        out[f"true_gain__{arm}"] = float(true_gain(effect[ok], score[ok]))
        out[f"true_ate__{arm}"] = float(effect[ok].mean())
        if arm != ANY_ARM:
            learned.append(score[ok])
            true.append(effect[ok])
    if learned:
        score, effect = np.concatenate(learned), np.concatenate(true)
        out["spearman_true"] = spearman(score, effect)
        out["true_gain"] = float(true_gain(effect, score))
        out["true_ate"] = float(effect.mean())
        out["n_truth"] = float(len(score))
    return out
