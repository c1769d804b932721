"""The churn design matrix: numeric features as floats, attributes as category codes.

Everything here is reproducible with numpy from the manifest: numeric columns are cast
to float (missing stays NaN), each categorical attribute becomes the position of its value
in the stored category list (unseen or missing -> NaN, which XGBoost treats as missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

MAX_CATEGORIES = 50
MONOTONE_UP = ("recency_days",)


@dataclass(frozen=True)
class Encoding:
    """Feature order, per-feature type ('q' numeric, 'c' categorical) and category lists."""

    feature_names: tuple[str, ...]
    feature_types: tuple[str, ...]
    categories: dict[str, list[str]]

    def to_dict(self) -> dict[str, object]:
        return {
            "feature_names": list(self.feature_names),
            "feature_types": list(self.feature_types),
            "categories": {k: list(v) for k, v in self.categories.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Encoding:
        return cls(
            tuple(data["feature_names"]),
            tuple(data["feature_types"]),
            {k: list(v) for k, v in data["categories"].items()},
        )

    def monotone_constraints(self) -> tuple[int, ...]:
        """+1 on the recency features: risk can only rise with days since the last purchase."""
        return tuple(1 if name in MONOTONE_UP else 0 for name in self.feature_names)


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def fit_encoding(frame: pd.DataFrame, feature_columns: list[str]) -> Encoding:
    """Learn the layout from training rows: the most frequent values of each text column."""
    types: list[str] = []
    categories: dict[str, list[str]] = {}
    for col in feature_columns:
        if _is_categorical(frame[col]):
            counts = frame[col].dropna().astype(str).value_counts()
            top = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            categories[col] = sorted(top.index[:MAX_CATEGORIES].tolist())
            types.append("c")
        else:
            types.append("q")
    return Encoding(tuple(feature_columns), tuple(types), categories)


def category_codes(col: pd.Series, categories: list[str]) -> np.ndarray:
    """Each value's position in ``categories`` as text (missing or unseen: -1). Text
    columns are matched once per distinct value; others value by value."""
    objects = col.astype("object")
    first, uniques = pd.factorize(objects.to_numpy(), use_na_sentinel=True)
    if not len(uniques):
        return np.full(len(col), -1, dtype=np.int64)
    if all(type(u) is str for u in uniques):
        positions = pd.Index(categories).get_indexer(pd.Index(uniques, dtype=object))
        return np.where(first >= 0, positions[np.maximum(first, 0)], -1)
    values = objects.where(col.notna(), None).map(lambda v: None if v is None else str(v))
    return np.asarray(pd.Index(categories).get_indexer(pd.Index(values.to_numpy())))


def design_matrix(enc: Encoding, features: pd.DataFrame) -> np.ndarray:
    """A float32 matrix in ``enc.feature_names`` order; a missing column is an error."""
    missing = [c for c in enc.feature_names if c not in features.columns]
    if missing:
        raise ValueError(
            f"churn model needs feature columns {missing} that the input lacks; "
            "score a snapshot built with the same families, channels and attributes"
        )
    out = np.empty((len(features), len(enc.feature_names)), dtype=np.float32)
    for j, (name, kind) in enumerate(zip(enc.feature_names, enc.feature_types, strict=True)):
        col = features[name]
        if kind == "c":
            codes = category_codes(col, enc.categories[name])
            out[:, j] = np.where(codes >= 0, codes, np.nan)
        else:
            out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64")
    return out


def dmatrix(enc: Encoding, matrix: np.ndarray, label: np.ndarray | None = None) -> xgb.DMatrix:
    """The DMatrix the booster expects (the service builds the same from the manifest)."""
    return xgb.DMatrix(
        matrix,
        label=label,
        feature_names=list(enc.feature_names),
        feature_types=list(enc.feature_types),
        enable_categorical=True,
        nthread=1,
    )
