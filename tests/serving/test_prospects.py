"""POST /prospect through the service's ASGI app and `cintel prospects`: one scoring path,
ranked by expected first-year value, 400s naming the field, 503 without a champion."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from serving.settings import get_service_settings
from tests.serving.asgi import service_app
from tests.serving.own_home import point_service_at
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.pipeline import train
from training.settings import Settings, get_settings

ATTRIBUTES = ("age_band", "region", "acquisition_channel")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, pd.DataFrame]]:
    """A home with a cintel-prospect champion only (no store: /prospect needs none), and
    200 people of the simulated customers table as prospects."""
    folder = tmp_path_factory.mktemp("prospect-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(folder))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        sim = synthesize(SynthConfig(n_customers=3000, seed=4))
        (result,) = train(validate(sim.transactions, sim.customers), models=["prospect"])
        assert result.decision == "promoted", result
        people = sim.customers.head(200)
        leads = pd.DataFrame(
            {"prospect_id": [f"lead-{i}" for i in people["customer_id"]]}
            | {a: people[a].astype(str).to_numpy() for a in ATTRIBUTES}
        )
        try:
            yield folder, leads
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
            get_settings.cache_clear()


def _environment(mp: pytest.MonkeyPatch, folder: Path) -> None:
    point_service_at(mp, folder)


def _body(leads: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    people = [
        {"prospect_id": r["prospect_id"], "attributes": {a: r[a] for a in ATTRIBUTES}}
        for r in leads.to_dict("records")
    ]
    return {"prospects": people, **extra}


@pytest.fixture
def client(
    home: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    folder, leads = home
    _environment(monkeypatch, folder)
    with TestClient(app=service_app()) as c:
        deadline = time.monotonic() + 120
        while c.post("/prospect", json=_body(leads.head(1))).status_code == 503:
            assert time.monotonic() < deadline, "the prospect champion did not load in 120 s"
            time.sleep(0.2)
        yield c
    get_service_settings.cache_clear()


def test_prospects_are_ranked_by_expected_value_with_the_models_version(
    client: TestClient, home: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, leads = home
    r = client.post("/prospect", json=_body(leads))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_versions"] == {"prospect": "1"}
    people = body["prospects"]
    assert [p["rank"] for p in people] == list(range(1, len(leads) + 1))
    values = [p["expected_first_year_value"] for p in people]
    assert values == sorted(values, reverse=True)
    assert all(0 <= p["lookalike"]["score"] <= 1 for p in people)
    assert {p["first_offer"]["family"] for p in people} <= {
        "fresh_food", "bakery", "household", "electronics", "beauty", "wine"
    }  # fmt: skip
    # the first offer is the default catalogue's offer of that family a newcomer gets:
    # its best expected value (probability x value - cost > 0), as /profile ranks
    from serving.catalogue import default_catalogue
    from serving.prospect_offers import first_offer_id

    catalogue = default_catalogue()
    by_id = {o.id: o for o in catalogue.offers}
    for p in people:
        offer = p["first_offer"]
        assert offer["offer_id"] == first_offer_id(catalogue, offer["family"], offer["probability"])
        if offer["offer_id"] is not None:
            assert by_id[offer["offer_id"]].family == offer["family"]
    assert sum(p["first_offer"]["offer_id"] is not None for p in people) > len(people) / 2
    # followed apart: the profile models' set (the store's answers) never holds it
    assert "prospect" not in client.post("/status", json={}).json()["versions"]
    top = client.post("/prospect", json=_body(leads, top=3)).json()["prospects"]
    assert top == people[:3]
    # both answers are in the request log: one line per person answered, the scores and
    # the offer, no prospect id and no attribute (personal data)
    from tests.serving.readback import read_jsonl

    folder, _ = home
    lines = [r for r in read_jsonl(folder / "requests") if r["endpoint"] == "/prospect"]
    assert len(lines) >= len(people) + 3
    logged = lines[-(len(people) + 3) : -3]
    assert [r["outputs"]["rank"] for r in logged] == [p["rank"] for p in people]
    assert [r["outputs"]["first_offer_id"] for r in logged] == [
        p["first_offer"]["offer_id"] for p in people
    ]
    assert all(r["customer_id"] is None and r["features"] == {} for r in lines)
    assert all(r["versions"] == {"prospect": "1"} and r["latency_ms"] > 0 for r in lines)
    text = "".join(f.read_text() for f in (folder / "requests").glob("*.jsonl"))
    assert "lead-" not in text and "age_band" not in text and "acquisition_channel" not in text
    # the command writes the same list from a file
    leads.to_csv(tmp_path / "leads.csv", index=False)
    from monitoring.entry import cli

    out = tmp_path / "list.csv"
    run = CliRunner().invoke(
        cli, ["prospects", "--in", str(tmp_path / "leads.csv"), "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    written = pd.read_csv(out)
    assert written["prospect_id"].tolist() == [p["prospect_id"] for p in people]
    assert written["first_offer_id"].where(written["first_offer_id"].notna(), None).tolist() == [
        p["first_offer"]["offer_id"] for p in people
    ]
    assert written["expected_first_year_value"].to_numpy() == pytest.approx(values, abs=1e-5)


def _attrs(i: int, **changes: Any) -> Any:
    return lambda b: b["prospects"][i]["attributes"].update(changes)


def _drop(i: int, name: str) -> Any:
    return lambda b: b["prospects"][i]["attributes"].pop(name)


def _same_id(b: dict[str, Any]) -> None:
    b["prospects"][1]["prospect_id"] = b["prospects"][0]["prospect_id"]


BAD = [
    (_attrs(0, income=3), "prospects[0].attributes.income", "unknown attribute"),
    (_drop(1, "region"), "prospects[1].attributes.region", "required (send null when unknown)"),
    (_attrs(2, region="mars"), "prospects[2].attributes.region", "never seen"),
    (_same_id, "prospects[0].prospect_id", "must be unique"),
    (lambda b: b.update(prospects=[]), "prospects", ""),
    (lambda b: b["prospects"][0].update(email="x@example.org"), "prospects[0].email", ""),
]


@pytest.mark.parametrize(("change", "field", "needle"), BAD)
def test_bad_prospects_are_400_naming_the_field(
    client: TestClient, home: tuple[Path, pd.DataFrame], change: Any, field: str, needle: str
) -> None:
    _, leads = home
    body = _body(leads.head(3))
    change(body)
    r = client.post("/prospect", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    assert needle in r.json()["error"]


def test_no_prospect_champion_is_503_and_the_command_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, tmp_path)
    with TestClient(app=service_app()) as c:
        r = c.post("/prospect", json={"prospects": [{"prospect_id": "a", "attributes": {}}]})
    assert r.status_code == 503 and "prospect model not loaded" in r.json()["error"]
    from monitoring.entry import cli

    (tmp_path / "leads.csv").write_text("prospect_id,region\na,north\n")
    args = ["prospects", "--in", str(tmp_path / "leads.csv"), "--out", str(tmp_path / "o.csv")]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 1
    assert "no usable cintel-prospect @champion" in " ".join(run.output.split())
    get_service_settings.cache_clear()


@pytest.mark.slow
def test_the_bento_carries_the_prospect_champion(mlflow_home: Settings, tmp_path: Path) -> None:
    from serving.batch.bento import package_champions
    from serving.settings import ServiceSettings

    # (2,000 customers leave ~500 training sign-ups: AUC ~0.5, and the floor rejects it)
    sim = synthesize(SynthConfig(n_customers=4000, seed=0))
    data = validate(sim.transactions, sim.customers)
    assert all(r.decision == "promoted" for r in train(data))
    (result,) = train(data, models=["prospect"])
    assert result.decision == "promoted", result
    target = tmp_path / "champions"
    versions = package_champions(ServiceSettings(home=mlflow_home.home), target)
    assert versions["prospect"] == "1"
    assert (target / "prospect" / "current").read_text() == "1"
    assert list((target / "prospect" / "1").rglob("lookalike.ubj"))
