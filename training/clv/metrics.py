"""Value-ranking and calibration metrics for CLV predictions (pure numpy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

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
