"""Feature matrix layout: numeric columns as they are, ``attr_*`` strings one-hot encoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MAX_CATEGORIES = 30  # per attribute; rarer values encode as all zeros, like unseen ones


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


@dataclass(frozen=True)
class Design:
    """Numeric columns in order, then one indicator per kept value of each attribute.

    Unseen or missing attribute values give all-zero indicators, so scoring never fails on
    a new category; a missing numeric column is an error (the model cannot guess it).
    """

    numeric: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    @property
    def names(self) -> list[str]:
        """Column names of the matrix, in order (``attr_region=north`` for indicators)."""
        onehot = [f"{col}={v}" for col, values in self.categories.items() for v in values]
        return [*self.numeric, *onehot]

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: list[str]) -> Design:
        """Learn the layout from training features; the most frequent values are kept."""
        numeric, categories = [], {}
        for col in columns:
            if col.startswith("attr_") and _is_categorical(frame[col]):
                counts = frame[col].dropna().astype(str).value_counts(sort=True)
                top = counts.iloc[:MAX_CATEGORIES]
                categories[col] = tuple(sorted(top.index))
            else:
                numeric.append(col)
        return cls(tuple(numeric), categories)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """A float64 matrix with ``len(self.names)`` columns; the input is not modified."""
        missing = [c for c in self.numeric if c not in frame.columns]
        if missing:
            raise ValueError(
                f"features missing for the propensity model: {', '.join(missing)}; "
                "score a snapshot built with the same families and channels as the training one"
            )
        parts = [frame[list(self.numeric)].to_numpy(dtype="float64", na_value=np.nan)]
        for col, values in self.categories.items():
            if col in frame.columns:
                raw = frame[col].astype(object).where(frame[col].notna(), None).to_numpy()
                text = np.array([None if v is None else str(v) for v in raw], dtype=object)
            else:
                text = np.full(len(frame), None, dtype=object)
            parts.append((text[:, None] == np.array(values, dtype=object)[None, :]).astype(float))
        return np.hstack(parts) if parts else np.empty((len(frame), 0))

    def to_dict(self) -> dict[str, Any]:
        cats = {k: list(v) for k, v in self.categories.items()}
        return {"numeric": list(self.numeric), "categories": cats}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        cats = {k: tuple(v) for k, v in data["categories"].items()}
        return cls(tuple(data["numeric"]), cats)
