"""The simple baselines beside cintel, fitted at the cutoff on the history before it (pure).

Recency alone; BG/NBD, MBG/NBD and Pareto/NBD (P(no purchase in H), expected purchases,
P(alive)); BG/NBD × Gamma-Gamma value; last year's run rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.clv.btyd_part import ALIVE_MODELS, BTYD_COLUMNS, fit_btyd, has_purchase, value_rate
from training.clv.holdout import holdout_loglik, probability_no_purchase
from training.clv.metrics import naive_value


@dataclass(frozen=True)
class Baselines:
    """Fitted purchase models by name and one row per buyer of the scoring snapshot."""

    models: dict[str, Any]
    frame: pd.DataFrame  # customer_id, recency, naive_run_rate, bgnbd_gg, <m>_p0/_alive/_exp

    def holdout(self, counts: np.ndarray, horizon_days: int) -> dict[str, np.ndarray]:
        """Per-customer holdout log-likelihood of ``counts`` under each purchase model."""
        hist = _history(self.frame)
        return {
            name: holdout_loglik(m, counts, horizon_days, *hist) for name, m in self.models.items()
        }


BTYD_HISTORY = BTYD_COLUMNS[:3]  # (frequency, recency, T) columns of Baselines.frame


def _history(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, t = (frame[c].to_numpy(dtype="float64") for c in BTYD_COLUMNS[:3])
    return x, t_x, t


def buyers(snapshot_frame: pd.DataFrame) -> pd.DataFrame:
    """The customers with a purchase before the cutoff (T = 0 included), in snapshot order."""
    return snapshot_frame.loc[has_purchase(snapshot_frame)].reset_index(drop=True)


def fit_baselines(rows: pd.DataFrame, horizon_days: int, target: str = "margin") -> Baselines:
    """Fit the purchase models and Gamma-Gamma on ``rows`` (``buyers`` of the scoring
    snapshot) and compute every baseline's per-customer figures for the next H days."""
    hist = _history(rows)
    models = {name: cls().fit(*hist) for name, cls in ALIVE_MODELS.items()}
    out = pd.DataFrame({"customer_id": rows["customer_id"].to_numpy()})
    out["recency"] = pd.to_numeric(rows["recency_days"]).to_numpy(dtype="float64")
    out["naive_run_rate"] = naive_value(rows, horizon_days, target)
    for name, model in models.items():
        out[f"{name}_p0"] = probability_no_purchase(model, horizon_days, *hist)
        out[f"{name}_alive"] = model.conditional_probability_alive(*hist)
        out[f"{name}_exp"] = model.conditional_expected_purchases(horizon_days, *hist)
    params = fit_btyd(rows, target)
    spend = params.spend().conditional_expected_average_spend(
        hist[0], rows["btyd_monetary"].fillna(0.0).to_numpy(dtype="float64")
    )
    out["bgnbd_gg"] = out["bgnbd_exp"].to_numpy() * spend * value_rate(params, rows)
    for col in BTYD_COLUMNS[:3]:
        out[col] = rows[col].to_numpy(dtype="float64")
    return Baselines(models, out)


def purchase_days(tx: pd.DataFrame, ids: pd.Series, start: pd.Timestamp, days: int) -> np.ndarray:
    """Distinct purchase days (rows with amount ≥ 0, as the btyd_* columns count them) of
    each customer in ``ids`` within [start, start + days)."""
    stop = start + pd.Timedelta(days=days)
    window = tx.loc[(tx["ts"] >= start) & (tx["ts"] < stop) & (tx["amount"] >= 0)]
    per_day = window.assign(day=window["ts"].dt.normalize())[["customer_id", "day"]]
    counts = per_day.drop_duplicates().groupby("customer_id", observed=True).size()
    return counts.reindex(pd.Index(ids)).fillna(0).to_numpy(dtype="float64")
