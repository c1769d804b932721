"""Category codes of the design matrix: matched once per distinct text, same codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.churn.encoding import category_codes


def _value_by_value(col: pd.Series, categories: list[str]) -> np.ndarray:
    values = col.astype("object").where(col.notna(), None)
    text = values.map(lambda v: None if v is None else str(v))
    return np.asarray(pd.Index(categories).get_indexer(pd.Index(text.to_numpy())))


def test_codes_equal_the_value_by_value_lookup() -> None:
    categories = ["1", "east", "north", "south"]
    columns = [
        pd.Series(["north", None, "atlantis", "east", np.nan, "north"]),
        pd.Series(pd.Categorical(["south", None, "east", "south"])),
        pd.Series([1, "1", 1.0, None, "north"], dtype=object),  # mixed: value by value
        pd.Series([None, np.nan], dtype=object),
        pd.Series([], dtype=object),
    ]
    for col in columns:
        assert np.array_equal(category_codes(col, categories), _value_by_value(col, categories))
