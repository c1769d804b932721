"""Decisions through the service's ASGI app on a hand-built home: decision_id in every
answer that ranks offers, its record in the log, /feedback by decision, control groups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from serving.schemas import ProfileAnswer, ProfilesAnswer, ScoreAnswer
from serving.settings import get_service_settings
from tests.serving.asgi import service_app
from tests.serving.conftest import HISTORY
from tests.serving.handmade import AS_OF, VERSIONS, make_home, pick
from tests.serving.readback import read_jsonl


def _env(monkeypatch: pytest.MonkeyPatch, root: Path, home: Path, **extra: str) -> None:
    monkeypatch.setenv("CINTEL_HOME", str(home))
    monkeypatch.setenv("CINTEL_OFFERS_PATH", str(root / "offers.yaml"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.setenv("CINTEL_POLL_SECONDS", "0")
    monkeypatch.delenv("CINTEL_API_KEY", raising=False)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    get_service_settings.cache_clear()


def _app() -> Any:
    return service_app()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = make_home(tmp_path)
    _env(monkeypatch, tmp_path, home)
    yield home
    get_service_settings.cache_clear()


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(app=_app()) as c:
        yield c


def _records(home: Path) -> list[dict[str, Any]]:
    return read_jsonl(home / "decisions")


def test_every_answer_has_a_decision_id_and_its_record_is_in_the_log(
    client: TestClient, home: Path
) -> None:
    cid = pick({"retention": True, "cross_sell": False})
    one = client.post("/profile", json={"customer_id": cid, "channel": "Web"})
    assert one.status_code == 200, one.text
    answer = one.json()
    ProfileAnswer.model_validate(answer)
    assert answer["held_out"] == ["retention"]
    assert "retain" not in [o["offer_id"] for o in answer["offers"]]
    (record,) = _records(home)  # on disk when the answer arrived
    assert record["decision_id"] == answer["decision_id"]
    assert (record["endpoint"], record["customer_id"], record["channel"]) == (
        "/profile",
        cid,
        "web",
    )
    assert (record["store_as_of"], record["versions"]) == (AS_OF, VERSIONS)
    assert [o["offer_id"] for o in record["offers"]] == [o["offer_id"] for o in answer["offers"]]
    assert record["held_out"][0]["offers"][0]["offer_id"] == "retain"

    many = client.post("/profiles", json={"customer_ids": ["c1", "nobody", "c2", "c1"]})
    assert many.status_code == 200
    body = many.json()
    ProfilesAnswer.model_validate(body)
    ids = [p["decision_id"] for p in body["profiles"]]
    assert len(set(ids)) == 3  # one decision per customer answered, the repeat included
    records = _records(home)[1:]
    assert [r["decision_id"] for r in records] == ids
    assert [r["customer_id"] for r in records] == ["c1", "c2", "c1"]
    assert {r["endpoint"] for r in records} == {"/profiles"}

    scored = client.post("/score", json={"customer_id": "cold-1", "features": HISTORY})
    assert scored.status_code == 503  # no models in this home: nothing ranked, nothing recorded
    assert len(_records(home)) == 4
    missing = client.post("/profile", json={"customer_id": "nobody"})
    assert missing.status_code == 404 and len(_records(home)) == 4


def _feedback(client: TestClient, **body: Any) -> Any:
    return client.post("/feedback", json=body)


def test_feedback_by_decision(client: TestClient, home: Path) -> None:
    cid = pick({"retention": True, "cross_sell": False})
    answer = client.post("/profile", json={"customer_id": cid, "channel": "web"}).json()
    decision = answer["decision_id"]
    ok = _feedback(client, decision_id=decision, offer_id="xs_wine", outcome="clicked")
    assert ok.status_code == 200, ok.text
    assert ok.json()["stored"] is True and ok.json()["duplicate"] is False
    again = _feedback(client, decision_id=decision, offer_id="xs_wine", outcome="clicked")
    assert again.status_code == 200 and again.json() == {
        "stored": False,
        "ts": None,
        "duplicate": True,
    }
    other = _feedback(client, decision_id=decision, offer_id="xs_wine", outcome="accepted")
    assert other.json()["stored"] is True
    (first, second) = read_jsonl(home / "feedback")
    assert first | {"ts": None} == {
        "decision_id": decision,
        "offer_id": "xs_wine",
        "outcome": "clicked",
        "ts": None,
        "customer_id": cid,
        "channel": "web",
    }
    assert second["outcome"] == "accepted"

    def error(**body: Any) -> tuple[int, str | None, str]:
        r = _feedback(client, **body)
        return r.status_code, r.json()["field"], r.json()["error"]

    unknown = error(decision_id="0" * 32, offer_id="xs_wine", outcome="clicked")
    assert unknown[:2] == (400, "decision_id") and "not in the decision log" in unknown[2]
    assert error(decision_id="xyz", offer_id="xs_wine", outcome="clicked")[:2] == (
        400,
        "decision_id",
    )
    not_shown = error(decision_id=decision, offer_id="no_such", outcome="clicked")
    assert not_shown[:2] == (400, "offer_id") and "it showed: xs_wine" in not_shown[2]
    withheld = error(decision_id=decision, offer_id="retain", outcome="accepted")
    assert (
        withheld[:2] == (400, "offer_id") and "control group of campaign retention" in withheld[2]
    )
    bad = error(decision_id=decision, offer_id="xs_wine", outcome="contacted")
    assert bad[:2] == (400, "outcome")
    mixed = error(decision_id=decision, offer_id="xs_wine", outcome="clicked", customer_id=cid)
    assert mixed[:2] == (400, "customer_id")
    assert error(offer_id="xs_wine", outcome="clicked")[:2] == (400, "customer_id")
    assert error(customer_id=cid, offer_id="xs_wine", outcome="shown")[:2] == (400, "channel")
    assert len(read_jsonl(home / "feedback")) == 2


def test_both_feedback_bodies_feed_the_contact_caps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path)
    _env(monkeypatch, tmp_path, home)
    catalogue = (tmp_path / "offers.yaml").read_text()
    (tmp_path / "offers.yaml").write_text(
        catalogue + "global_cap: {max_contacts: 2, per_days: 30}\n"
    )
    get_service_settings.cache_clear()
    cid = pick({"retention": False, "cross_sell": False})
    with TestClient(app=_app()) as client:
        first = client.post("/profile", json={"customer_id": cid}).json()
        assert len(first["offers"]) == 4
        old = _feedback(client, customer_id=cid, offer_id="up", channel="web", outcome="shown")
        assert old.status_code == 200, old.text
        assert len(client.post("/profile", json={"customer_id": cid}).json()["offers"]) == 4
        new = _feedback(
            client, decision_id=first["decision_id"], offer_id="retain", outcome="declined"
        )
        assert new.status_code == 200
        capped = client.post("/profile", json={"customer_id": cid}).json()
        assert capped["offers"] == []  # two contacts: the global cap
    with TestClient(app=_app()) as restarted:  # a restart reads both back
        assert restarted.post("/profile", json={"customer_id": cid}).json()["offers"] == []
        dup = _feedback(
            restarted, decision_id=first["decision_id"], offer_id="retain", outcome="declined"
        )
        assert dup.json()["duplicate"] is True  # the index and the feedback log were rebuilt


def test_decision_logging_off_answers_without_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path)
    _env(monkeypatch, tmp_path, home, CINTEL_DECISIONS="off")
    cid = pick({"retention": True})
    with TestClient(app=_app()) as client:
        answer = client.post("/profile", json={"customer_id": cid}).json()
        assert answer["decision_id"] is None and answer["held_out"] == ["retention"]
        assert client.post("/status").json()["decisions"] == "off"
    assert not (home / "decisions").exists()


def test_uplift_ranked_campaign_through_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path, uplift=True, cross_sell={"ranking": "uplift"})
    _env(monkeypatch, tmp_path, home)
    cid = pick({"retention": False, "cross_sell": False})
    with TestClient(app=_app()) as client:
        answer = client.post("/profile", json={"customer_id": cid}).json()
    assert answer["ranking"]["cross_sell"] == "uplift"
    assert answer["model_versions"]["uplift"] == "1"
    assert [o["offer_id"] for o in answer["offers"]] == ["retain", "xs_bakery", "up", "xs_wine"]
    (record,) = _records(home)
    assert record["ranking"]["cross_sell"] == "uplift" and record["versions"]["uplift"] == "1"


def test_the_document_gives_both_feedback_bodies_and_the_decision_fields(
    client: TestClient,
) -> None:
    doc = orjson.loads(client.get("/docs.json").content)
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/feedback"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[1]
    options = [o["$ref"].rsplit("/", 1)[1] for o in schemas[ref]["oneOf"]]
    assert options == ["FeedbackByDecision", "FeedbackByCustomer"]
    by_decision = schemas["FeedbackByDecision"]
    assert set(by_decision["required"]) == {"decision_id", "offer_id", "outcome"}
    assert by_decision["properties"]["outcome"]["enum"] == [
        "accepted",
        "declined",
        "clicked",
        "ignored",
    ]
    # the catalogue's offer ids (the document is built once per process, with the first
    # test module's catalogue, so which ids depends on the test order)
    offer_ids = by_decision["properties"]["offer_id"]["enum"]
    assert offer_ids and all(isinstance(o, str) for o in offer_ids)
    answer = schemas["ProfileAnswer"]["properties"]
    assert {"decision_id", "held_out", "ranking"} <= set(answer)
    assert "decision_id" in schemas["ProfileAnswer"]["required"]
    assert {"campaign", "uplift"} <= set(schemas["RankedOfferAnswer"]["properties"])
    assert "decision_id" in schemas["ScoreAnswer"]["properties"]
    assert ScoreAnswer.model_fields["decision_id"].is_required()


def test_targets_mark_control_members_and_record_a_decision_each(
    home: Path, tmp_path: Path
) -> None:
    from monitoring.entry import cli

    out = tmp_path / "list.csv"
    result = CliRunner().invoke(
        cli, ["targets", "--campaign", "retention", "--top", "100", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "in a control group" in result.output
    import pandas as pd

    listed = pd.read_csv(out)
    assert len(listed) == 100 and set(listed["group"]) == {"treated", "control"}
    for row in listed.itertuples():
        assert row.group == ("control" if row.customer_id in _control("retention") else "treated")
    records = {r["customer_id"]: r for r in _records(home)}
    assert len(records) == 100
    for row in listed.itertuples():
        record = records[row.customer_id]
        assert record["endpoint"] == "targets" and record["store_as_of"] == AS_OF
        if row.group == "control":
            assert record["offers"] == []
            assert record["held_out"][0]["offers"][0]["offer_id"] == row.offer_id
            assert record["assignment"]["retention"] == "control"
        else:
            assert [(o["offer_id"], o["rank"]) for o in record["offers"]] == [(row.offer_id, 1)]
            assert record["held_out"] == []
        assert record["offers" if row.group == "treated" else "held_out"]


def _control(campaign: str) -> set[str]:
    from training.data.holdout import in_control

    return {f"c{i}" for i in range(200) if in_control(f"c{i}", campaign, 0.5)}
