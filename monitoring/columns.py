"""Which columns a drift report compares: shared, typed alike, inputs apart from predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from serving.scoring import LOGGED_OUTPUTS

META_COLUMNS = frozenset({"customer_id", "ts", "endpoint", "cold_start", "latency_ms"})
META_PREFIXES = ("version.", "output.")
# what the service logs as each answer's outputs is what drift judges as predictions
PREDICTION_COLUMNS = frozenset(LOGGED_OUTPUTS)
PREDICTION_PREFIXES = ("propensity_any__", "propensity_first__", "clv_12m_", "segment_prob__")


def is_meta(column: str) -> bool:
    """Request bookkeeping (ids, timing, versions): never compared."""
    return column in META_COLUMNS or column.startswith(META_PREFIXES)


def is_prediction(column: str) -> bool:
    """A model output as served (churn risk, CLV, tier, segment, propensities)."""
    return column in PREDICTION_COLUMNS or column.startswith(PREDICTION_PREFIXES)


@dataclass
class Alignment:
    """Both frames cut to the comparable columns, with each column's type and fate."""

    current: pd.DataFrame
    reference: pd.DataFrame
    features: list[str]
    predictions: list[str]
    numerical: list[str]
    categorical: list[str]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _as_category(series: pd.Series) -> pd.Series:
    """Strings for every non-null value, so ``1``, ``True`` and ``"1"`` compare alike."""
    return series.astype(object).where(series.isna(), series.astype(str))


def align(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    prediction_columns: Sequence[str] | None = None,
    max_categories: int = 50,
) -> Alignment:
    """Shared non-meta columns, typed by the reference; never mutates the inputs.

    A column numeric in the reference is coerced to numbers in the current frame (a
    string there becomes missing). Skipped, with the reason: columns that are empty on
    either side, columns holding one and the same value on both sides, and text-like
    columns with more than ``max_categories`` values.
    """
    ref_cols = [c for c in reference.columns if not is_meta(str(c))]
    cur_cols = {c for c in current.columns if not is_meta(str(c))}
    missing = [c for c in ref_cols if c not in cur_cols]
    extra = sorted(c for c in cur_cols if c not in set(ref_cols))
    wanted = set(prediction_columns) if prediction_columns is not None else None
    cur, ref = {}, {}
    numerical: list[str] = []
    categorical: list[str] = []
    skipped: dict[str, str] = {}
    for col in (c for c in ref_cols if c in cur_cols):
        r, c = reference[col], current[col]
        if _is_numeric(r):
            r, c = r.astype("float64"), pd.to_numeric(c, errors="coerce").astype("float64")
        else:
            r, c = _as_category(r), _as_category(c)
        if r.notna().sum() == 0 or c.notna().sum() == 0:
            side = "the reference" if r.notna().sum() == 0 else "current"
            skipped[col] = f"no values in {side}"
            continue
        values = pd.unique(pd.concat([r, c], ignore_index=True))
        if len(values) == 1:  # e.g. the P&L costs without a costs.yaml: all 0 (its zero
            # spread also divided Evidently's correlation of the inputs by zero)
            skipped[col] = f"one value on both sides ({values[0]}): nothing to compare"
            continue
        if not _is_numeric(r) and r.nunique() > max_categories:
            skipped[col] = f"text-like: {r.nunique()} distinct values in the reference"
            continue
        (numerical if _is_numeric(r) else categorical).append(col)
        cur[col], ref[col] = c.to_numpy(), r.to_numpy()
    kept = [*numerical, *categorical]
    kept.sort(key=ref_cols.index)
    preds = [c for c in kept if (c in wanted if wanted is not None else is_prediction(c))]
    return Alignment(
        current=pd.DataFrame({k: cur[k] for k in kept}, index=range(len(current))),
        reference=pd.DataFrame({k: ref[k] for k in kept}, index=range(len(reference))),
        features=[c for c in kept if c not in preds],
        predictions=preds,
        numerical=numerical,
        categorical=categorical,
        missing=missing,
        extra=extra,
        skipped=skipped,
    )
