"""Outcomes of recorded decisions: hash assignment, the log readers and the response join."""

from __future__ import annotations

from hashlib import blake2b
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from training.data.decision_log import DECISION_COLUMNS, read_decisions, read_feedback
from training.data.holdout import assignment_u, assignment_us, control_mask, in_control
from training.data.outcomes import RESPONSE_COLUMNS, first_decisions, responses

# --- assignment -----------------------------------------------------------------------------


def test_assignment_is_the_spec_formula_and_vectorised_agrees() -> None:
    digest = blake2b(b"retention\x1f17", digest_size=8).digest()
    assert assignment_u("17", "retention") == int.from_bytes(digest, "big") / 2**64
    assert assignment_u(17, "retention") == assignment_u("17", "retention")
    ids = [str(i) for i in range(5000)]
    us = assignment_us(ids, "cross_sell")
    assert us.tolist() == [assignment_u(i, "cross_sell") for i in ids]
    mask = control_mask(ids, "cross_sell", 0.1)
    assert mask.tolist() == [in_control(i, "cross_sell", 0.1) for i in ids]
    assert 0.08 < mask.mean() < 0.12
    assert not control_mask(ids, "cross_sell", 0.0).any()
    # another campaign draws independently
    other = control_mask(ids, "retention", 0.1)
    assert 0.005 < (mask & other).mean() < 0.02


# --- the decision log ------------------------------------------------------------------------


def _record(decision_id: str, ts: str, customer: object, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "decision_id": decision_id,
        "ts": ts,
        "endpoint": "/profile",
        "customer_id": customer,
        "channel": "web",
        "store_as_of": "2025-12-31",
        "versions": {"churn": "3", "propensity": "2"},
        "offers": [],
        "held_out": [],
        "assignment": {},
        "ranking": {"cross_sell": "expected_value"},
    }
    return {**base, **kw}


XS = {
    "offer_id": "xs_bakery_intro", "campaign": "cross_sell", "rank": 1, "family": "bakery",
    "kind": "cross_sell", "expected_response": 0.12, "expected_value": 0.6,
    "response_window_days": 30,
}  # fmt: skip
RET = {
    "offer_id": "retain_voucher", "family": None, "kind": "retention",
    "expected_response": 0.5, "expected_value": 3.1, "response_window_days": 14,
}  # fmt: skip


def _write(folder: Path, name: str, records: list[dict[str, object]], tail: bytes = b"") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = b"\n".join(orjson.dumps(r) for r in records) + b"\n" + tail
    (folder / name).write_bytes(lines)


def test_read_decisions_explodes_shown_and_withheld_offers(tmp_path: Path) -> None:
    up = {**RET, "offer_id": "upsell_bulk_pack", "kind": "up_sell", "campaign": None}
    _write(
        tmp_path,
        "2026-01-01.jsonl",
        [
            _record(
                "d1",
                "2026-01-01T10:00:00.5+00:00",
                "1",
                offers=[XS, {**up, "rank": 2}],
                held_out=[{"campaign": "retention", "offers": [RET]}],
            ),
            _record("d2", "2026-01-01T12:00:00Z", "2", channel=None),  # nothing to show
        ],
    )
    _write(tmp_path, "2026-01-02.jsonl", [_record("d3", "2026-01-02T01:00:00+01:00", "3",
                                                  offers=[XS])])  # fmt: skip
    frame = read_decisions(tmp_path)
    assert list(frame.columns) == DECISION_COLUMNS
    assert frame.attrs == {"skipped": 0, "records": 3}
    assert frame["decision_id"].tolist() == ["d1", "d1", "d3", "d1"]  # shown, then withheld
    assert frame["offer_id"].tolist() == [
        "xs_bakery_intro", "upsell_bulk_pack", "xs_bakery_intro", "retain_voucher"
    ]  # fmt: skip
    assert frame["group"].tolist() == ["treated", "treated", "treated", "control"]
    # campaign: the entry's, else the held_out parent's, else the kind's default id
    assert frame["campaign"].tolist() == ["cross_sell", "up_sell", "cross_sell", "retention"]
    assert frame["rank"].tolist()[:3] == [1, 2, 1] and pd.isna(frame["rank"].iloc[3])
    assert frame["response_window_days"].tolist() == [30.0, 14.0, 30.0, 14.0]
    assert frame["ts"].tolist() == [
        pd.Timestamp("2026-01-01 10:00:00.5"), pd.Timestamp("2026-01-01 10:00:00.5"),
        pd.Timestamp("2026-01-02 00:00:00"), pd.Timestamp("2026-01-01 10:00:00.5"),
    ]  # fmt: skip
    assert frame["family"].tolist() == ["bakery", None, "bakery", None]


def test_read_decisions_skips_a_torn_line_and_accepts_numeric_ids(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2026-01-01.jsonl",
        [_record("d1", "2026-01-01T10:00:00Z", 17, offers=[XS])],
        tail=b'{"decision_id": "d2", "ts": "2026-01-01T1',
    )
    frame = read_decisions(tmp_path)
    assert frame["customer_id"].tolist() == ["17"]
    assert frame.attrs["skipped"] == 1
    empty = read_decisions(tmp_path / "missing")
    assert empty.empty and list(empty.columns) == DECISION_COLUMNS


def test_read_feedback(tmp_path: Path) -> None:
    rec = {"decision_id": "d1", "offer_id": "x", "outcome": "accepted",
           "ts": "2026-01-01T10:00:00+00:00", "customer_id": "1", "channel": "web"}  # fmt: skip
    _write(tmp_path, "2026-01-01.jsonl", [rec, {**rec, "customer_id": 1}])
    fb = read_feedback(tmp_path)
    assert fb["customer_id"].tolist() == ["1", "1"]
    assert fb["ts"].tolist() == [pd.Timestamp("2026-01-01 10:00")] * 2
    assert read_feedback(tmp_path / "none").empty


# --- the join: a 14-row hand table ---------------------------------------------------------


def _decisions() -> pd.DataFrame:
    T = pd.Timestamp
    rows = [
        # decision, ts, customer, channel, campaign, offer, family, kind, er, ev, window, group
        ("d1", T("2026-01-01 10:00"), "1", "web", "cross_sell", "xs_bakery", "bakery",
         "cross_sell", 0.2, 1.0, 30.0, "treated"),
        ("d1", T("2026-01-01 10:00"), "1", "web", "retention", "retain", None, "retention",
         0.5, 3.0, 30.0, "control"),
        ("d2", T("2026-01-05 10:00"), "1", "web", "cross_sell", "xs_bakery", "bakery",
         "cross_sell", 0.3, 1.5, 30.0, "treated"),  # a later decision: not counted
        ("d3", T("2026-01-02 09:00"), "2", "store", "cross_sell", "xs_bakery", "bakery",
         "cross_sell", 0.1, 0.5, 30.0, "control"),
        ("d3", T("2026-01-02 09:00"), "2", "store", "cross_sell", "xs_wine", "wine",
         "cross_sell", 0.4, 4.0, 7.0, "treated"),
        ("d4", T("2026-01-03 00:00"), "3", None, "retention", "retain", None, "retention",
         0.6, 2.0, 30.0, "treated"),
        ("d6", T("2026-01-04 00:00"), "9", "web", "retention", "retain", None, "retention",
         0.6, 2.0, 30.0, "treated"),  # a customer the data does not know
        ("d7", T("2026-01-06 00:00"), "5", "web", "up_sell", "upsell", None, "up_sell",
         0.1, 4.0, 30.0, "treated"),
        ("d5", T("2026-01-25 00:00"), "4", "web", "cross_sell", "xs_bakery", "bakery",
         "cross_sell", 0.2, 1.0, 30.0, "treated"),  # window ends after the data: immature
    ]  # fmt: skip
    names = [
        "decision_id", "ts", "customer_id", "channel", "campaign", "offer_id", "family",
        "kind", "expected_response", "expected_value", "response_window_days", "group",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=names)
    return frame.assign(endpoint="/profile", store_as_of="2025-12-31", rank=1)[DECISION_COLUMNS]


def _transactions() -> pd.DataFrame:
    T = pd.Timestamp
    rows = [
        (1, T("2025-12-20"), 5.0, 2.0, "bakery"),  # before the decision
        (1, T("2026-01-01 10:00"), 4.0, 1.5, "bakery"),  # at the decision: not after it
        (1, T("2026-01-10"), 6.0, 2.5, "bakery"),
        (1, T("2026-01-12"), -6.0, -2.0, "bakery"),  # a return is no purchase
        (1, T("2026-01-15"), 3.0, 1.0, "bakery"),
        (1, T("2026-01-20"), 10.0, 4.0, "wine"),
        (2, T("2026-01-08"), 8.0, 3.0, "wine"),
        (2, T("2026-01-09 09:00"), 2.0, 0.8, "bakery"),
        (2, T("2026-01-09 09:00"), 5.0, 2.0, "wine"),  # the last moment of the 7-day window
        (2, T("2026-01-12"), 7.0, 2.5, "wine"),  # after it
        (3, T("2026-02-10"), 20.0, 6.0, "household"),  # after the 30-day window
        (4, T("2026-02-01"), 3.0, 1.0, "bakery"),
        (5, T("2026-01-07"), 9.0, 3.0, "fresh_food"),
        (6, T("2026-02-20 15:00"), 1.0, 0.5, "fresh_food"),  # the data ends on 2026-02-20
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "margin", "family"])
    return frame.assign(family=frame["family"].astype("category"))


def _feedback() -> pd.DataFrame:
    T = pd.Timestamp
    rows = [
        ("d1", "xs_bakery", "clicked", T("2026-01-01 11:00")),
        ("d1", "xs_bakery", "accepted", T("2026-01-02")),
        ("d1", "xs_bakery", "accepted", T("2026-01-03")),  # the same outcome twice
        ("d3", "xs_wine", "ignored", T("2026-01-02 10:00")),
        ("d2", "xs_bakery", "declined", T("2026-01-05 11:00")),  # a decision not counted
    ]
    return pd.DataFrame(rows, columns=["decision_id", "offer_id", "outcome", "ts"])


def test_responses_on_a_hand_table() -> None:
    decisions, tx, fb = _decisions(), _transactions(), _feedback()
    before = (decisions.copy(), tx.copy(), fb.copy())
    got = responses(decisions, tx, fb)
    d = _decisions().set_index(["decision_id", "offer_id"])
    order = [
        ("d1", "xs_bakery"), ("d1", "retain"), ("d3", "xs_bakery"), ("d3", "xs_wine"),
        ("d4", "retain"), ("d6", "retain"), ("d7", "upsell"), ("d5", "xs_bakery"),
    ]  # fmt: skip
    expected = (
        d.loc[order]
        .reset_index()
        .assign(
            responded=[True, True, True, True, False, False, True, True],
            response_margin=[3.5, 7.5, 0.8, 5.0, 0.0, 0.0, 3.0, 1.0],
            matured=[True, True, True, True, True, True, True, False],
            feedback=["accepted", None, None, "ignored", None, None, None, None],
        )[RESPONSE_COLUMNS]
    )
    pd.testing.assert_frame_equal(got, expected)
    for frame, copy in zip((decisions, tx, fb), before, strict=True):
        pd.testing.assert_frame_equal(frame, copy)  # inputs untouched


def test_responses_matured_by_as_of_and_without_feedback() -> None:
    got = responses(_decisions(), _transactions(), as_of=pd.Timestamp("2026-02-01"))
    assert got["matured"].tolist() == [True, True, False, True, False, False, False, False]
    assert got["feedback"].isna().all()
    margin_free = _transactions().drop(columns="margin")
    amounts = responses(_decisions(), margin_free)["response_margin"]
    assert amounts.iloc[0] == 9.0  # the amounts of the two bakery purchases


def test_families_match_by_slug_and_string_ids() -> None:
    tx = _transactions()
    tx = tx.assign(
        customer_id=tx["customer_id"].astype(str),
        family=tx["family"].cat.rename_categories(lambda f: f.replace("_", " ").title()),
    )
    got = responses(_decisions(), tx)
    assert got["responded"].tolist() == [True, True, True, True, False, False, True, True]


def test_responses_need_their_columns() -> None:
    with pytest.raises(ValueError, match="required column group missing"):
        responses(_decisions().drop(columns="group"), _transactions())
    with pytest.raises(ValueError, match="transactions: required column family"):
        responses(_decisions(), _transactions().drop(columns="family"))


def test_responses_with_no_purchases_at_all() -> None:
    tx = _transactions()
    got = responses(_decisions(), tx[tx["amount"] < 0])
    assert not got["responded"].any() and np.all(got["response_margin"] == 0)


def test_first_only_reading_gives_the_same_responses(tmp_path: Path) -> None:
    """``read_decisions(first_only=True)`` (what ``cintel campaigns`` reads) keeps exactly
    the rows ``responses`` counts: the same answers, row for row, from a log with repeats,
    a tie in time, a later file holding an earlier decision and a decision without id."""
    offer = {**XS, "offer_id": "xs_bakery"}
    wine = {**XS, "offer_id": "xs_wine", "family": "wine", "response_window_days": 7}
    ret = {**RET, "offer_id": "retain", "campaign": "retention", "response_window_days": 30}
    day1 = [
        _record("d1", "2026-01-01T10:00:00Z", "1", offers=[offer],
                held_out=[{"campaign": "retention", "offers": [ret]}]),
        _record("d3", "2026-01-02T09:00:00Z", "2", channel="store", offers=[wine],
                held_out=[{"campaign": "cross_sell", "offers": [offer]}]),
        # a tie in time: the shown row comes first (withheld rows follow the shown ones)
        _record("d3b", "2026-01-02T09:00:00Z", "2", offers=[offer]),
        _record("d4", "2026-01-03T00:00:00Z", "3", channel=None, offers=[ret]),
        _record("dn", "2026-01-03T00:00:00Z", None, offers=[offer]),
        _record("dn2", "2026-01-04T00:00:00Z", None, offers=[offer]),
    ]  # fmt: skip
    day2 = [
        _record("d2", "2026-01-05T10:00:00Z", "1", offers=[offer]),  # later: not counted
        _record("d0", "2025-12-31T08:00:00Z", "3", offers=[ret]),  # earlier, in a later file
        _record("d5", "2026-01-25T00:00:00Z", "4", offers=[offer]),
    ]
    _write(tmp_path, "2026-01-01.jsonl", day1)
    _write(tmp_path, "2026-01-05.jsonl", day2)
    everything = read_decisions(tmp_path)
    first = read_decisions(tmp_path, first_only=True)
    assert list(first.columns) == DECISION_COLUMNS
    assert first.attrs == everything.attrs == {"skipped": 0, "records": 9}
    assert len(everything) == 11 and len(first) == 7
    assert set(first["decision_id"]) == {"d1", "d3", "d3b", "d0", "dn", "d5"}
    pd.testing.assert_frame_equal(
        first.reset_index(drop=True), first_decisions(everything).reset_index(drop=True)
    )
    tx, fb = _transactions(), _feedback()
    want = responses(everything, tx, fb)
    pd.testing.assert_frame_equal(responses(first, tx, fb), want)
    pd.testing.assert_frame_equal(responses(first, tx, fb, first_only=True), want)
