"""Control groups, campaigns in the catalogue, decision records and uplift ranking, on
hand-built stores whose answers are known (tests/serving/handmade.py)."""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

import numpy as np
import orjson
import pytest

from serving.answers import Decisions, StoreAnswers, from_rows, from_store, render
from serving.catalogue import CatalogueError, parse_catalogue
from serving.contacts import ContactHistory
from serving.decisions import request_head
from serving.offers import OfferContext, held_out_of, request_rules
from serving.schemas import ProfileAnswer
from serving.store import FileStore
from tests.serving.handmade import (
    AS_OF,
    CATALOGUE_DATA,
    EXPECTED_RESPONSE,
    EXPECTED_VALUE,
    VERSIONS,
    catalogue,
    pick,
    profiles,
)
from tests.serving.readback import rank_offers
from training.data.holdout import assignment_u, assignment_us, control_mask, in_control

TS = "2026-11-23T10:00:00.000001+00:00"


# ---- the assignment --------------------------------------------------------------------
def test_assignment_is_the_spec_hash() -> None:
    digest = blake2b(b"retention\x1f17", digest_size=8).digest()
    assert assignment_u("17", "retention") == int.from_bytes(digest, "big") / 2**64
    assert assignment_u(17, "retention") == assignment_u("17", "retention")
    ids = [str(i) for i in range(2000)]
    us = assignment_us(ids, "cross_sell")
    assert us.tolist() == [assignment_u(c, "cross_sell") for c in ids]
    assert control_mask(ids, "cross_sell", 0.1).tolist() == [
        in_control(c, "cross_sell", 0.1) for c in ids
    ]


def test_assignment_shares_and_independence() -> None:
    ids = [f"cust-{i}" for i in range(20_000)]
    ret = control_mask(ids, "retention", 0.10)
    xs = control_mask(ids, "cross_sell", 0.10)
    assert abs(ret.mean() - 0.10) < 0.01 and abs(xs.mean() - 0.10) < 0.01  # 4.7 sigma
    assert abs((ret & xs).mean() - 0.01) < 0.004  # campaigns draw independently
    assert not control_mask(ids, "retention", 0.0).any()
    assert not any(in_control(c, "retention", 0.0) for c in ids[:100])
    # the same customer, the same group, whatever else changes (pure: no state)
    assert control_mask(ids[:500], "retention", 0.1).tolist() == ret[:500].tolist()


# ---- the catalogue ---------------------------------------------------------------------
def test_campaigns_default_to_the_kind_and_to_ten_percent() -> None:
    cat = parse_catalogue({"offers": CATALOGUE_DATA["offers"]})
    assert [o.campaign for o in cat.offers] == ["retention", "cross_sell", "cross_sell", "up_sell"]
    assert cat.campaign_ids == ("retention", "cross_sell", "up_sell")
    settings = cat.campaign("retention")
    assert (settings.holdout, settings.response_window_days, settings.ranking) == (
        0.10,
        30,
        "expected_value",
    )
    own = parse_catalogue(
        {
            "campaigns": {"vip": {"holdout": 0, "response_window_days": 7, "ranking": "uplift"}},
            "offers": [{**CATALOGUE_DATA["offers"][0], "campaign": "vip"}],
        }
    )
    assert own.offers[0].campaign == "vip" and own.campaign("vip").holdout == 0


@pytest.mark.parametrize(
    ("campaigns", "offer", "needle"),
    [
        ({"retention": {"holdout": 1.0}}, {}, "campaigns.retention.holdout': Input should be less"),
        ({"retention": {"holdout": -0.1}}, {}, "campaigns.retention.holdout"),
        ({"retention": {"response_window_days": 0}}, {}, "response_window_days"),
        ({"retention": {"ranking": "propensity"}}, {}, "campaigns.retention.ranking"),
        ({"retention": {"colour": "red"}}, {}, "colour"),
        ({"retension": {"holdout": 0}}, {}, "no offer belongs to campaign 'retension'"),
        ({"up_sell": {"ranking": "uplift"}}, {}, "up cannot be ranked by uplift"),
        ({}, {"campaign": "bad id!"}, "offer 'retain' (offers[0]), field 'campaign'"),
    ],
)
def test_bad_campaigns_are_refused_naming_the_field(
    campaigns: dict[str, Any], offer: dict[str, Any], needle: str
) -> None:
    offers = [{**CATALOGUE_DATA["offers"][0], **offer}, *CATALOGUE_DATA["offers"][1:]]
    with pytest.raises(CatalogueError) as err:
        parse_catalogue({"campaigns": campaigns, "offers": offers}, "my.yaml")
    assert "bad offer catalogue my.yaml" in str(err.value) and needle in str(err.value)


# ---- answers and decision records ------------------------------------------------------
def _row(cid: str) -> dict[str, Any]:
    """The hand-built store's row of ``cid`` as a flat dict."""
    frame = profiles()
    return {str(k): v for k, v in frame[frame["customer_id"] == cid].iloc[0].to_dict().items()}


def _decide(
    cid: str, uplift: bool = False, ctx: OfferContext | None = None, **campaigns: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    cat = catalogue(**campaigns)
    answers = StoreAnswers(FileStore(profiles(uplift=uplift), {}), cat)
    ctx = ctx or OfferContext(channel="web")
    decided = Decisions(request_head("/profile", ctx.channel, AS_OF, VERSIONS), TS)
    rules = request_rules(cat, ctx)
    (answer,) = render(from_store(answers, [cid]), cat, rules, None, VERSIONS, decided=decided)
    (line,) = decided.lines
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return orjson.loads(answer), orjson.loads(line)


def test_a_treated_customer_gets_every_offer_and_a_full_record() -> None:
    cid = pick({"retention": False, "cross_sell": False})
    answer, record = _decide(cid)
    ProfileAnswer.model_validate(answer)
    order = ["retain", "xs_wine", "xs_bakery", "up"]
    assert [o["offer_id"] for o in answer["offers"]] == order
    assert answer["held_out"] == []
    assert answer["decision_id"] == record["decision_id"] and len(record["decision_id"]) == 32
    assert int(record["decision_id"], 16) >= 0
    assert {k: record[k] for k in ("ts", "endpoint", "customer_id", "channel", "store_as_of")} == {
        "ts": TS,
        "endpoint": "/profile",
        "customer_id": cid,
        "channel": "web",
        "store_as_of": AS_OF,
    }
    assert record["versions"] == VERSIONS
    assert [o["offer_id"] for o in record["offers"]] == order
    assert [o["rank"] for o in record["offers"]] == [1, 2, 3, 4]
    for o in record["offers"]:
        assert o["expected_value"] == pytest.approx(EXPECTED_VALUE[o["offer_id"]])
        assert o["expected_response"] == pytest.approx(EXPECTED_RESPONSE[o["offer_id"]])
        assert o["uplift"] is None
    assert record["offers"][0] | {"expected_value": 0, "expected_response": 0} == {
        "rank": 1,
        "offer_id": "retain",
        "campaign": "retention",
        "family": None,
        "kind": "retention",
        "expected_value": 0,
        "expected_response": 0,
        "response_window_days": 14,
        "uplift": None,
    }
    assert record["offers"][1]["response_window_days"] == 30  # cross_sell: the default
    assert record["held_out"] == []
    assert record["assignment"] == {
        "retention": "treated",
        "cross_sell": "treated",
        "up_sell": "treated",
    }
    assert set(record["ranking"].values()) == {"expected_value"} == set(answer["ranking"].values())


def test_a_control_member_is_not_offered_the_campaign_and_the_record_keeps_it() -> None:
    cid = pick({"retention": True, "cross_sell": False})
    answer, record = _decide(cid)
    assert answer["held_out"] == ["retention"]
    assert [o["offer_id"] for o in answer["offers"]] == ["xs_wine", "xs_bakery", "up"]
    assert [o["offer_id"] for o in record["offers"]] == ["xs_wine", "xs_bakery", "up"]
    assert [o["rank"] for o in record["offers"]] == [1, 2, 3]
    (held,) = record["held_out"]
    assert held["campaign"] == "retention"
    (withheld,) = held["offers"]
    assert withheld["offer_id"] == "retain" and "rank" not in withheld
    assert withheld["expected_value"] == pytest.approx(24.0)
    assert withheld["expected_response"] == pytest.approx(0.75)
    assert record["assignment"]["retention"] == "control"
    # the one-customer arbitration says why
    row = _row(cid)
    made = [o.offer_id for o in rank_offers(row, catalogue(), OfferContext(channel="web"))]
    assert made == ["xs_wine", "xs_bakery", "up"]


def test_control_of_two_campaigns_and_the_request_rules_apply_to_withheld_offers() -> None:
    cid = pick({"retention": True, "cross_sell": True})
    ctx = OfferContext(channel="web", exclude_offers=frozenset({"xs_wine"}))
    answer, record = _decide(cid, ctx=ctx)
    assert answer["held_out"] == ["retention", "cross_sell"]
    assert [o["offer_id"] for o in answer["offers"]] == ["up"]
    held = {h["campaign"]: [o["offer_id"] for o in h["offers"]] for h in record["held_out"]}
    # xs_wine was excluded by the request: a treated customer would not have seen it either
    assert held == {"retention": ["retain"], "cross_sell": ["xs_bakery"]}


def test_holdout_zero_means_nobody_is_held_out() -> None:
    cat = catalogue(retention={"holdout": 0.0}, cross_sell={"holdout": 0.0})
    answers = StoreAnswers(FileStore(profiles(), {}), cat)
    ids = [f"c{i}" for i in range(200)]
    rendered = render(from_store(answers, ids), cat, request_rules(cat, OfferContext()), None, {})
    assert all(orjson.loads(a)["held_out"] == [] for a in rendered)
    assert all(held_out_of(cat, c) == [] for c in ids)


def test_shares_held_out_over_many_customers() -> None:
    cat = catalogue()
    answers = StoreAnswers(FileStore(profiles(2000), {}), cat)
    ids = [f"c{i}" for i in range(2000)]
    decided = Decisions(request_head("/profiles", None, AS_OF, {}), TS)
    render(from_store(answers, ids), cat, request_rules(cat, OfferContext()), None, {}, False,
           decided=decided)  # fmt: skip
    records = [orjson.loads(x) for x in decided.lines]
    assert len(records) == 2000 and len({r["decision_id"] for r in records}) == 2000
    ret = np.mean([r["assignment"]["retention"] == "control" for r in records])
    xs = np.mean([r["assignment"]["cross_sell"] == "control" for r in records])
    assert abs(ret - 0.5) < 0.06 and abs(xs - 0.3) < 0.05  # 5 sigma
    assert not any(r["assignment"]["up_sell"] == "control" for r in records)


def test_contact_caps_apply_to_shown_and_withheld_offers() -> None:
    data = {**CATALOGUE_DATA, "global_cap": {"max_contacts": 1, "per_days": 30}}
    cat = parse_catalogue(data)
    cid = pick({"retention": True, "cross_sell": False}, cat=cat)
    contacts = ContactHistory.from_records([{"customer_id": cid, "offer_id": "up", "ts": 1e9}])
    answers = StoreAnswers(FileStore(profiles(), {}), cat)
    decided = Decisions(request_head("/profile", None, AS_OF, {}), TS)
    rules = request_rules(cat, OfferContext())
    (answer,) = render(from_store(answers, [cid]), cat, rules, contacts, {}, now_s=1e9 + 60,
                       decided=decided)  # fmt: skip
    record = orjson.loads(decided.lines[0])
    assert orjson.loads(answer)["offers"] == [] and record["offers"] == []
    assert record["held_out"] == [{"campaign": "retention", "offers": []}]


def test_anonymous_score_customers_are_in_no_control_group() -> None:
    cat = catalogue(retention={"holdout": 0.99}, cross_sell={"holdout": 0.99})
    row = _row("c0") | {"customer_id": "cold-start"}
    decided = Decisions(request_head("/score", None, None, {}), TS)
    batch = from_rows([row], ["cold-start"], cat, anonymous=True)
    (answer,) = render(batch, cat, request_rules(cat, OfferContext()), None, {}, True,
                       decided=decided)  # fmt: skip
    record = orjson.loads(decided.lines[0])
    assert orjson.loads(answer)["held_out"] == [] and len(record["offers"]) == 4
    assert record["customer_id"] is None and record["store_as_of"] is None
    named = from_rows([{**row, "customer_id": "c1"}], ["c1"], cat)  # 99 %: held out of both
    (named_answer,) = render(named, cat, request_rules(cat, OfferContext()), None, {})
    assert orjson.loads(named_answer)["held_out"] == ["retention", "cross_sell"]
    assert orjson.loads(named_answer)["decision_id"] is None  # decisions not collected


def test_file_store_and_row_paths_record_the_same_decisions() -> None:
    cat = catalogue()
    frame = profiles(50)
    store = FileStore(frame, {})
    ids = [f"c{i}" for i in range(50)]
    rules = request_rules(cat, OfferContext(channel="web"))
    out = []
    for batch in (
        from_store(StoreAnswers(store, cat), ids),
        from_rows([store.get(c) for c in ids], ids, cat),
    ):
        decided = Decisions(request_head("/profiles", "web", AS_OF, {}), TS)
        answers = render(batch, cat, rules, None, {}, decided=decided)
        strip = [{**orjson.loads(a), "decision_id": None} for a in answers]
        records = [{**orjson.loads(x), "decision_id": None} for x in decided.lines]
        out.append((strip, records))
    assert out[0] == out[1]


# ---- ranking by uplift -----------------------------------------------------------------
def test_uplift_campaign_ranks_by_incremental_value() -> None:
    cid = pick({"retention": False, "cross_sell": False})
    answer, record = _decide(cid, uplift=True, cross_sell={"ranking": "uplift"})
    offers = {o["offer_id"]: o for o in answer["offers"]}
    # cross_sell by incremental value: bakery 0.3*10-1 = 2 before wine 0.15*20-2 = 1 (by
    # expected value wine 4 came first; up 1.5 between); retention stays by expected value
    assert [o["offer_id"] for o in answer["offers"]] == ["retain", "xs_bakery", "up", "xs_wine"]
    assert offers["xs_bakery"]["score"] == pytest.approx(2.0)
    assert offers["xs_bakery"]["expected_value"] == pytest.approx(3.0)
    assert offers["xs_bakery"]["uplift"] == pytest.approx(0.3)
    assert offers["retain"]["uplift"] is None and offers["retain"]["score"] == pytest.approx(24)
    assert "ranked by uplift: incremental value 2.00 = +0.300 uplift" in " ".join(
        offers["xs_bakery"]["reasons"]
    )
    assert (
        answer["ranking"]
        == record["ranking"]
        == {
            "retention": "expected_value",
            "cross_sell": "uplift",
            "up_sell": "expected_value",
        }
    )
    entries = {o["offer_id"]: o for o in record["offers"]}
    assert entries["xs_bakery"]["uplift"] == pytest.approx(0.3)
    assert entries["xs_bakery"]["expected_value"] == pytest.approx(3.0)  # still recorded


def test_uplift_drops_offers_that_change_nothing_or_harm() -> None:
    cid = pick({"retention": False, "cross_sell": False})
    cat = catalogue(retention={"ranking": "uplift"}, cross_sell={"ranking": "uplift"})
    frame = profiles(uplift=True).assign(uplift_wine=-0.05, uplift_any=0.005)
    answers = StoreAnswers(FileStore(frame, {}), cat)
    (answer,) = render(
        from_store(answers, [cid]), cat, request_rules(cat, OfferContext()), None, {}
    )
    # wine: -0.05*20-2 < 0 (a sleeping dog); retention 0.005*100-1 < 0 although EV is 24
    assert [o["offer_id"] for o in orjson.loads(answer)["offers"]] == ["xs_bakery", "up"]


def test_without_uplift_scores_the_campaign_falls_back_to_expected_value() -> None:
    cid = pick({"retention": False, "cross_sell": False})
    answer, record = _decide(cid, uplift=False, cross_sell={"ranking": "uplift"})
    assert [o["offer_id"] for o in answer["offers"]] == ["retain", "xs_wine", "xs_bakery", "up"]
    assert record["ranking"]["cross_sell"] == "expected_value"
    # one eligible offer without a score (a skipped arm): the whole campaign falls back
    cat = catalogue(cross_sell={"ranking": "uplift"})
    frame = profiles(uplift=True).assign(uplift_wine=np.nan)
    answers = StoreAnswers(FileStore(frame, {}), cat)
    (one,) = render(from_store(answers, [cid]), cat, request_rules(cat, OfferContext()), None, {})
    assert orjson.loads(one)["ranking"]["cross_sell"] == "expected_value"


# ---- answers spliced once per customer and rule set ------------------------------------
def _same_ids(parts: list[bytes]) -> list[bytes]:
    import re

    return [re.sub(rb"[0-9a-f]{32}", b"<id>", p) for p in parts]


def test_kept_splices_answer_as_a_fresh_render() -> None:
    """Answers and records from the parts kept per customer and rule set equal those of a
    customer prepared anew, and those of the per-request path for a customer with contacts
    that cap nothing."""
    from serving.decisions import record_line

    cat = catalogue()
    ids = [pick({"retention": True, "cross_sell": False}), pick({"retention": False}), "c7"]
    far = ContactHistory.from_records([{"customer_id": ids[0], "offer_id": "up", "ts": 1.0}])
    kept = StoreAnswers(FileStore(profiles(), {}), cat)
    contexts = [OfferContext(), OfferContext(exclude_offers=frozenset({"up", "retain"})),
                OfferContext(basket_families=frozenset({"wine"})), OfferContext()]  # fmt: skip
    for ctx in contexts:
        rules = request_rules(cat, ctx)
        runs = []
        for answers, contacts in ((kept, None), (StoreAnswers(FileStore(profiles(), {}), cat),
                                                 None), (kept, far)):  # fmt: skip
            decided = Decisions(request_head("/profiles", None, AS_OF, VERSIONS), TS)
            out = render(from_store(answers, ids), cat, rules, contacts, VERSIONS, now_s=1e9,
                         decided=decided)  # fmt: skip
            runs.append((_same_ids(out), _same_ids(decided.lines)))
        assert runs[0] == runs[1] == runs[2], ctx
    # the record is the layout record_line writes, byte for byte
    head = request_head("/profile", "web", AS_OF, VERSIONS)
    decided = Decisions(head, TS)
    rules = request_rules(cat, OfferContext())
    (answer,) = render(from_store(kept, ids[:1]), cat, rules, None, VERSIONS, decided=decided)
    r = orjson.loads(decided.lines[0])
    shown = b",".join(orjson.dumps(o) for o in r["offers"])
    held = b",".join(orjson.dumps(h) for h in r["held_out"])
    tail = orjson.dumps({"assignment": r["assignment"], "ranking": r["ranking"]})[1:]
    customer = orjson.dumps(ids[0])
    assert decided.lines[0] == record_line(r["decision_id"], TS, head, customer, shown, held, tail)
    assert orjson.loads(answer)["decision_id"] == r["decision_id"]
    position = kept.store.position(ids[0])
    assert position is not None and len(kept.get(position).spliced) == 3


def test_decision_ids_drawn_together_are_uuid4s() -> None:
    from serving.decisions import new_decision_ids

    for n in (1, 2, 7, 1000):
        ids = new_decision_ids(n)
        assert len(ids) == len(set(ids)) == n
        assert all(len(d) == 32 and d[12:13] == b"4" and d[16:17] in b"89ab" for d in ids)
        assert all(int(d, 16) >= 0 for d in ids)
    assert new_decision_ids(0) == []
