"""training.deciles.by_decile: the report tables' deciles on data with a known answer."""

from __future__ import annotations

import pandas as pd

from training.deciles import by_decile


def test_twenty_rows_make_ten_deciles_of_two_in_score_order() -> None:
    frame = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(20)], "score": [float(19 - i) for i in range(20)]}
    ).assign(value=lambda f: f["score"] * 10)
    table = by_decile(frame, "score", score=("score", "mean"), total=("value", "sum"))
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["customers"].tolist() == [2] * 10
    assert table["score"].tolist() == [0.5 + 2 * d for d in range(10)]  # (0+1)/2, (2+3)/2, ...
    assert table["total"].tolist() == [10.0 * (4 * d + 1) for d in range(10)]


def test_ties_are_split_by_row_order_not_lumped() -> None:
    frame = pd.DataFrame({"customer_id": list("abcdefghij"), "score": [1.0] * 10})
    table = by_decile(frame, "score")
    assert table["customers"].tolist() == [1] * 10
