"""Minimum positives and negatives per label: counts and the reasons (pure, tiny frames)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training.minimums import ClassCount, Minimums, class_counts, shortfall
from training.propensity.metrics import _scores

FRAME = pd.DataFrame(
    {
        "label_churn": [1.0, 1.0, 0.0, np.nan, 1.0],
        "label_buy__wine": [0.0, 0.0, 0.0, 0.0, 1.0],
        "label_buy__beer": [1.0, 0.0, 1.0, 0.0, 1.0],
    }
)
TWO = Minimums(positives=2, negatives=2)


def test_counts_skip_undefined_labels_and_missing_columns_count_as_none() -> None:
    assert class_counts(FRAME, ["label_churn", "label_buy__wine", "label_x"]) == [
        ClassCount("label_churn", 3, 1),
        ClassCount("label_buy__wine", 1, 4),
        ClassCount("label_x", 0, 0),
    ]


def test_all_needs_every_label_in_every_window() -> None:
    counts = class_counts(FRAME, ["label_buy__beer"])
    assert shortfall([("training", counts), ("evaluation", counts)], TWO, "all") is None
    short = class_counts(FRAME, ["label_churn"])
    why = shortfall([("training", counts), ("evaluation", short)], TWO, "all")
    assert why == (
        "evaluation: every label needs at least 2 positives and 2 negatives: "
        "label_churn has 3 positives and 1 negatives"
    )


def test_any_needs_one_label_that_meets_the_minimums_in_both_windows() -> None:
    both = class_counts(FRAME, ["label_buy__wine", "label_buy__beer"])
    assert shortfall([("training", both), ("evaluation", both)], TWO, "any") is None
    # beer is fine in training only, wine in neither: no family can be judged
    later = [ClassCount("label_buy__wine", 1, 4), ClassCount("label_buy__beer", 1, 4)]
    why = shortfall([("training", both), ("evaluation", later)], TWO, "any")
    assert why is not None and why.startswith("no label has at least 2 positives")
    assert "evaluation: label_buy__wine has 1 positives" in why


def test_minimums_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Minimums(positives=0)


def test_a_family_below_the_minimum_is_not_judged() -> None:
    y = np.array([1.0, 0.0, 0.0, 0.0])
    p = np.array([0.9, 0.1, 0.2, 0.3])
    assert _scores(y, p)[0] == 1.0  # an AUC on one positive...
    assert all(math.isnan(v) for v in _scores(y, p, min_positives=2))  # ...is not a number
