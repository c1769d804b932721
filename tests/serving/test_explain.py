"""`cintel explain`: every offer for one customer, made as the service makes it or
suppressed with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from starlette.testclient import TestClient

from monitoring.entry import cli
from serving.catalogue import load_catalogue
from serving.settings import get_service_settings


def _explain(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["explain", *args])
    return result.exit_code, result.output


def test_offered_as_the_service_offers_and_every_other_offer_has_a_reason(
    client: TestClient, service_env: Path
) -> None:
    ids = pd.read_parquet(service_env / "store" / "profiles.parquet")["customer_id"].astype(str)
    catalogue = load_catalogue(get_service_settings().offers_path)
    every = sorted(o.id for o in catalogue.offers)
    suppressed_somewhere = 0
    for cid in ids.iloc[:40]:
        answer = client.post("/profile", json={"customer_id": cid, "channel": "web"}).json()
        code, out = _explain("--customer-id", cid, "--channel", "web", "--json")
        assert code == 0, out
        got = json.loads(out)
        assert [o["offer_id"] for o in got["offered"]] == [o["offer_id"] for o in answer["offers"]]
        # the answer rounds scores to 4 decimals
        assert [round(o["score"], 4) for o in got["offered"]] == [
            o["score"] for o in answer["offers"]
        ]
        assert got["held_out"] == answer["held_out"]
        # each catalogue offer once: made, or not made with the rule that stopped it
        assert (
            sorted(
                [o["offer_id"] for o in got["offered"]] + [s["offer_id"] for s in got["suppressed"]]
            )
            == every
        )
        assert all(s["reason"] for s in got["suppressed"])
        suppressed_somewhere += len(got["suppressed"])
    assert suppressed_somewhere > 0
    # the request's own rules name themselves
    cid = str(ids.iloc[0])
    code, out = _explain("--customer-id", cid, "--exclude", every[0], "--json")
    assert code == 0, out
    [mine] = [s for s in json.loads(out)["suppressed"] if s["offer_id"] == every[0]]
    assert "exclude" in mine["reason"], mine
    code, out = _explain("--customer-id", cid)
    assert code == 0 and f"Customer {cid}" in out and "Not offered" in out, out


def test_an_unknown_customer_is_named_and_the_exit_is_non_zero(service_env: Path) -> None:
    code, out = _explain("--customer-id", "no-such-customer")
    assert code != 0
    assert "no-such-customer" in out and "not in the file store" in out, out


def test_without_a_store_it_says_what_to_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path))
    get_service_settings.cache_clear()
    code, out = _explain("--customer-id", "1")
    get_service_settings.cache_clear()
    assert code != 0 and "cintel materialize" in out, out
