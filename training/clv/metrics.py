"""Value-ranking and calibration metrics for CLV predictions (pure numpy)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from training.clv.btyd_part import has_history
from training.data.snapshot import Snapshot

# the gate's metric and floor, and the methods and figures of the evaluation table
MAIN_METRIC = "normalized_gini"
GREATER_IS_BETTER = True
FLOORS = {"normalized_gini": 0.2}
MODELS = ("learned", "btyd", "naive")
METRICS = ("normalized_gini", "spearman", "decile_mape", "mae", "aggregate_error")

N_DECILES = 10
DECILE_FLOOR = 0.05  # denominator floor, as a fraction of the mean absolute actual value


def normalized_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of the actual values ordered by prediction ÷ the Gini of the perfect order.

    Tied predictions share their average position, so a constant prediction scores 0
    whatever the row order. 0 when the actual total is not positive (undefined).
    """
    a = np.asarray(actual, dtype="float64")
    p = np.asarray(predicted, dtype="float64")
    n, total = len(a), float(np.sum(a))
    if n < 2 or total <= 0:
        return 0.0

    def gini(order_by: np.ndarray) -> float:
        r = rankdata(-order_by, method="average")
        return float(a @ (n + 1.0 - r)) / (n * total) - (n + 1.0) / (2.0 * n)

    best = gini(a)
    return gini(p) / best if best > 0 else 0.0


def spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Spearman rank correlation; 0 when either side is constant."""
    if np.ptp(actual) == 0 or np.ptp(predicted) == 0:
        return 0.0
    return float(spearmanr(actual, predicted).statistic)


def decile_table(actual: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean predicted and actual value per predicted decile (1 = lowest predictions)."""
    rank = rankdata(predicted, method="ordinal")
    decile = np.minimum((rank - 1) * N_DECILES // len(rank), N_DECILES - 1) + 1
    frame = pd.DataFrame({"decile": decile, "predicted": predicted, "actual": actual})
    return (
        frame.groupby("decile")
        .agg(
            n=("actual", "size"),
            mean_predicted=("predicted", "mean"),
            mean_actual=("actual", "mean"),
        )
        .reset_index()
    )


def decile_mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean over predicted deciles of |mean predicted − mean actual| / |mean actual|; the
    denominator is floored at DECILE_FLOOR × mean |actual| so near-zero deciles stay finite."""
    table = decile_table(actual, predicted)
    floor = max(DECILE_FLOOR * float(np.mean(np.abs(actual))), 1e-9)
    denom = np.maximum(table["mean_actual"].abs().to_numpy(), floor)
    diff = table["mean_predicted"].to_numpy() - table["mean_actual"].to_numpy()
    err = np.abs(diff) / denom
    return float(err.mean())


def value_metrics(actual: np.ndarray, predicted: np.ndarray, name: str) -> dict[str, float]:
    """normalized_gini, spearman, decile_mape, mae and aggregate_error (|Σpred − Σactual| ÷
    |Σactual|), suffixed with ``_<name>``."""
    total = float(np.sum(actual))
    return {
        f"normalized_gini_{name}": normalized_gini(actual, predicted),
        f"spearman_{name}": spearman(actual, predicted),
        f"decile_mape_{name}": decile_mape(actual, predicted),
        f"mae_{name}": float(np.mean(np.abs(predicted - actual))),
        f"aggregate_error_{name}": abs(float(np.sum(predicted)) - total) / max(abs(total), 1e-9),
    }


def gains_curve(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of customers, share of total actual value) when ranked by prediction."""
    order = np.argsort(-np.asarray(predicted), kind="stable")
    cum = np.cumsum(np.asarray(actual)[order])
    total = cum[-1] if len(cum) and cum[-1] != 0 else 1.0
    x = np.arange(1, len(cum) + 1) / max(len(cum), 1)
    return np.r_[0.0, x], np.r_[0.0, cum / total]


def naive_value(frame: pd.DataFrame, horizon_days: int, target: str) -> np.ndarray:
    """Last year's run rate repeated: <target>_365d × H ÷ clip(tenure, H, 365) days."""
    past = frame["margin_365d" if target == "margin" else "spend_365d"].to_numpy("float64")
    tenure = pd.to_numeric(frame["tenure_days"], errors="coerce").to_numpy("float64")
    days = np.clip(np.nan_to_num(tenure, nan=365.0), horizon_days, 365.0)
    return cast(np.ndarray, np.nan_to_num(past) * horizon_days / days)


def predictions(model: Any, snapshot: Snapshot) -> pd.DataFrame:
    """customer_id, actual and the three models' horizon values for the evaluable rows
    (labelled customers with a purchase before as_of: the population BTYD is defined on)."""
    target = model.config.target
    column = f"future_{target}"
    if not snapshot.labelled or column not in snapshot.frame.columns:
        raise ValueError(f"evaluation needs a labelled snapshot with {column}")
    frame = snapshot.frame
    rows = frame.loc[has_history(frame) & frame[column].notna().to_numpy()].reset_index(drop=True)
    if len(rows) < 10:
        raise ValueError(f"evaluation needs at least 10 customers with history, got {len(rows)}")
    pred = model.predict_frame(
        rows[["customer_id", *snapshot.feature_columns]], horizon_days=snapshot.horizon_days
    )
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "actual": rows[column].to_numpy("float64"),
            "learned": pred["learned_clv_horizon"].to_numpy(),
            "btyd": pred["btyd_clv_horizon"].to_numpy(),
            "naive": naive_value(rows, snapshot.horizon_days, target),
        }
    )


def evaluate(model: Any, snapshot: Snapshot) -> dict[str, float]:
    """<metric>_<model> for metric in METRICS and model in MODELS, the chosen model's
    normalized_gini (MAIN_METRIC), bgnbd_loglik, gg_loglik and n_eval_customers."""
    table = predictions(model, snapshot)
    y = table["actual"].to_numpy()
    out: dict[str, float] = {}
    for name in MODELS:
        out.update(value_metrics(y, table[name].to_numpy(), name))
    out[MAIN_METRIC] = out[f"normalized_gini_{model.chosen}"]
    out["bgnbd_loglik"] = model.btyd.bgnbd_loglik
    out["gg_loglik"] = model.btyd.gg_loglik
    out["n_eval_customers"] = float(len(table))
    return out
