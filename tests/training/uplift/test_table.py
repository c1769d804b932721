"""The training table: first matured decision per customer and arm, features at decision
time, the wide outcome layout and the stable held-out split. Tiny hand-written rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.data.contract import validate
from training.data.features import compute_features
from training.data.snapshot import Snapshot
from training.uplift import tables_from_responses
from training.uplift.config import UpliftConfig
from training.uplift.table import (
    first_rows,
    held_out,
    split_table,
    table_arms,
    training_table,
)

from .synthetic import STORE_AS_OF, Synthetic, with_response_purchases

CONFIG = UpliftConfig()


def _responses(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    cols = ["decision_id", "ts", "customer_id", "offer_id", "family", "kind", "group",
            "expected_response", "responded", "matured"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    return frame.assign(
        channel="web",
        campaign=frame["kind"],
        expected_value=1.0,
        response_window_days=30,
        response_margin=0.0,
        feedback=None,
    )


XS, RET = ("cross_sell", "treated"), ("retention", "control")
ROWS = [
    # decision, ts, customer, offer, family, (kind, group), expected, responded, matured
    ("d1", "2025-05-02T10:00Z", "1", "xs_bakery_intro", "bakery", *XS, 0.2, True, True),
    ("d1", "2025-05-02T10:00Z", "1", "retain_voucher", None, *RET, 0.7, False, True),
    ("d1", "2025-05-02T10:00Z", "1", "upsell_bulk_pack", None, "up_sell", "treated", 0.1,
     True, True),
    # a later decision for the same customer and family: only the first one counts
    ("d2", "2025-05-09T10:00Z", "1", "xs_bakery_tasting", "Bakery", "cross_sell", "control", 0.3,
     False, True),
    ("d3", "2025-05-03T08:00Z", "2", "xs_bakery_intro", "bakery", "cross_sell", "control", 0.4,
     True, True),
    # not matured yet: left out
    ("d4", "2025-06-20T08:00Z", "3", "xs_bakery_intro", "bakery", *XS, 0.5, False, False),
]  # fmt: skip


def test_first_matured_decision_per_customer_and_arm() -> None:
    rows = first_rows(_responses(ROWS), CONFIG)
    got = rows[["customer_id", "arm", "treated", "responded", "expected_response"]]
    expected = pd.DataFrame(
        {
            "customer_id": ["1", "1", "2"],
            "arm": ["any", "bakery", "bakery"],  # by ts, then decision and offer id
            "treated": [0.0, 1.0, 0.0],
            "responded": [0.0, 1.0, 1.0],
            "expected_response": [0.7, 0.2, 0.4],
        }
    )
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)


def test_features_date_is_the_store_as_of_and_never_after_the_decision() -> None:
    decisions = pd.DataFrame(
        {"decision_id": ["d1", "d3"], "store_as_of": ["2025-05-01", "2025-06-01"]}
    )
    rows = first_rows(_responses(ROWS), CONFIG, decisions)
    # d1's store is from May 1st; d3 claims a store after its own ts: its day is used
    assert list(rows["as_of"]) == [pd.Timestamp("2025-05-01")] * 2 + [pd.Timestamp("2025-05-03")]
    # without store_as_of anywhere, the decision's day
    assert first_rows(_responses(ROWS), CONFIG)["as_of"].iloc[0] == pd.Timestamp("2025-05-02")


def test_up_sell_joins_the_any_arm_only_when_configured() -> None:
    config = UpliftConfig(any_purchase_kinds=("up_sell",))
    rows = first_rows(_responses(ROWS), config)
    anyp = rows[rows["arm"] == "any"]
    assert list(anyp["treated"]) == [1.0] and list(anyp["expected_response"]) == [0.1]


def test_wide_table_with_features_at_decision_time() -> None:
    decisions = pd.DataFrame(
        {"decision_id": ["d1", "d3"], "store_as_of": ["2025-05-01", "2025-05-01"]}
    )
    rows = first_rows(_responses(ROWS), CONFIG, decisions)
    may = pd.DataFrame({"customer_id": [1, 2, 3], "recency_days": [5.0, 50.0, 9.0]})
    june = pd.DataFrame({"customer_id": [1, 2, 3], "recency_days": [1.0, 1.0, 1.0]})
    table = training_table(
        rows, {pd.Timestamp("2025-05-01"): may, pd.Timestamp("2025-06-01"): june}
    )
    expected = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "recency_days": [5.0, 50.0],
            "label_treated__bakery": [1.0, 0.0],
            "label_responded__bakery": [1.0, 1.0],
            "label_expected_response__bakery": [0.2, 0.4],
            "label_treated__any": [0.0, np.nan],
            "label_responded__any": [0.0, np.nan],
            "label_expected_response__any": [0.7, np.nan],
        }
    )
    pd.testing.assert_frame_equal(table, expected)
    assert table_arms(table.columns) == ["bakery", "any"]
    snap = Snapshot(table, pd.Timestamp("2025-05-01"), 30, True, ("bakery",), ("web",))
    assert snap.feature_columns == ["recency_days"]  # the outcome side is not a model input


def test_missing_column_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"required column.*matured.*outcomes\.responses"):
        first_rows(_responses(ROWS).drop(columns=["matured"]), CONFIG)
    bad = _responses(ROWS).assign(group="offered")
    with pytest.raises(ValueError, match="group must be treated or control"):
        first_rows(bad, CONFIG)


def test_split_is_stable_by_customer() -> None:
    ids = pd.Series(np.arange(10_000))
    mask = held_out(ids, 0.3, "cintel-uplift")
    assert 0.28 < mask.mean() < 0.32
    shuffled = ids.sample(frac=1.0, random_state=1)
    np.testing.assert_array_equal(
        held_out(shuffled, 0.3, "cintel-uplift"), mask[shuffled.to_numpy()]
    )
    table = pd.DataFrame({"customer_id": ids, "x": 1.0})
    train, held = split_table(table, CONFIG)
    assert len(train) + len(held) == len(table)
    assert not set(train["customer_id"]) & set(held["customer_id"])


def test_features_are_point_in_time_and_per_customer(syn: Synthetic) -> None:
    train, held = tables_from_responses(syn.data, syn.responses, decisions=syn.decisions)
    table = pd.concat([train.frame, held.frame]).sort_values("customer_id", ignore_index=True)
    # the same as features of every customer at the decisions' store_as_of
    full = compute_features(
        syn.data.transactions, syn.data.customers, STORE_AS_OF,
        families=syn.data.families, channels=syn.data.channels,
    )  # fmt: skip
    columns = train.feature_columns
    expected = full[full["customer_id"].isin(table["customer_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        table[["customer_id", *columns]], expected[["customer_id", *columns]]
    )
    # the responders' purchases (after the decisions) change no feature
    later = validate(with_response_purchases(syn), syn.data.customers)
    again, _ = tables_from_responses(later, syn.responses, decisions=syn.decisions)
    pd.testing.assert_frame_equal(again.frame[columns], train.frame[columns])
