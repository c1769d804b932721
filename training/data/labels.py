"""Labels from the window after ``as_of``: only events in [as_of, as_of + horizon).

The feature window is ``ts < as_of`` and the label window starts exactly at ``as_of``,
so the two tile time with no gap: the labels at t0 use the same events as the features
at t0 + horizon, and no event is ever in neither.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.features import NS_PER_DAY, category_codes, slugs

PARTIAL_CHURN_FRACTION = 0.5


class HorizonNotCoveredError(ValueError):
    """The data ends before the label window does."""


def data_end(tx: pd.DataFrame) -> pd.Timestamp:
    """The last day the data covers (the date of its latest transaction)."""
    return pd.Timestamp(tx["ts"].max()).normalize()


def check_horizon(tx: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> None:
    """Raise when the transactions stop before the last day of the label window."""
    needed = (as_of + pd.Timedelta(days=horizon_days) - pd.Timedelta(days=1)).normalize()
    end = data_end(tx)
    if end < needed:
        raise HorizonNotCoveredError(
            f"labels need data up to {needed:%Y-%m-%d} (as_of {as_of:%Y-%m-%d} + "
            f"{horizon_days} days) but the transactions end on {end:%Y-%m-%d}; "
            "choose an earlier --as-of or a shorter --horizon-days"
        )


def compute_labels(
    tx: pd.DataFrame,
    ids: pd.Index,
    as_of: pd.Timestamp | str,
    horizon_days: int,
    *,
    families: list[str] | None = None,
    partial_fraction: float = PARTIAL_CHURN_FRACTION,
) -> pd.DataFrame:
    """Labels for the customers ``ids`` (a sorted index of customer ids).

    - ``label_churn``: no purchase in the window (NaN for customers who never bought
      before ``as_of``: they cannot churn).
    - ``label_partial_churn``: still buying, but less: at least one purchase in the window
      and gross spend there below ``partial_fraction`` of the gross spend in the previous
      window of equal length (NaN when that previous spend is 0). A total churner (no
      purchase in the window) is not a partial churner: the two labels are disjoint.
    - ``label_buy__<family>``: bought the family in the window; ``label_first__<family>``:
      the same for customers who never bought it before (NaN for those who did).
    - ``future_spend``, ``future_margin``, ``future_purchases``.
    """
    if not 0 < partial_fraction < 1:
        raise ValueError(f"partial_fraction must be in (0, 1), got {partial_fraction}")
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    as_of = pd.Timestamp(as_of)
    families = list(tx["family"].cat.categories) if families is None else families
    fam_cols = slugs(families)
    n, nf = len(ids), len(families)
    start = as_of.value
    stop = start + horizon_days * NS_PER_DAY
    prev_start = start - horizon_days * NS_PER_DAY

    ts = tx["ts"].to_numpy().view("int64")
    amount = tx["amount"].to_numpy()
    codes = ids.get_indexer(pd.Index(tx["customer_id"].to_numpy()))
    fam = category_codes(tx["family"], families)
    known = codes >= 0
    bought = (amount > 0) & known
    future = (ts >= start) & (ts < stop) & known
    past = (ts < start) & known
    prev = (ts >= prev_start) & past

    def total(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(codes[mask], weights=w, minlength=n).astype("float64")

    fut_buys = total(future & bought)
    past_buys = total(past & bought)
    gross = np.where(amount > 0, amount, 0.0)
    fut_gross = total(future & bought, gross)
    prev_gross = total(prev & bought, gross)
    out: dict[str, np.ndarray] = {
        "label_churn": np.where(past_buys > 0, (fut_buys == 0).astype("float64"), np.nan),
        "label_partial_churn": np.where(
            prev_gross > 0,
            ((fut_buys > 0) & (fut_gross < partial_fraction * prev_gross)).astype("float64"),
            np.nan,
        ),
        "future_spend": total(future, amount),
        "future_margin": total(future, tx["margin"].to_numpy()),
        "future_purchases": fut_buys,
    }

    def per_family(mask: np.ndarray) -> np.ndarray:
        key = codes[mask].astype(np.int64) * nf + fam[mask]
        return np.bincount(key, minlength=n * nf).reshape(n, nf)

    fut_fam = per_family(future & bought)
    past_fam = per_family(past & bought)
    for j, col in enumerate(fam_cols):
        buy = (fut_fam[:, j] > 0).astype("float64")
        out[f"label_buy__{col}"] = buy
        out[f"label_first__{col}"] = np.where(past_fam[:, j] == 0, buy, np.nan)
    return pd.DataFrame(out, index=ids).reset_index()
