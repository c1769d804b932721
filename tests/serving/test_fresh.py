"""After a promote or a rollback the service answers from the new champions within one poll,
and every answer names exactly the versions that produced it (ASGI app, real MLflow)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient
from starlette.testclient import TestClient

from serving.batch.materialize import materialize
from serving.catalogue import load_catalogue
from serving.follower import ModelManager, ModelSet
from serving.fresh import FreshAnswers, stale_models
from serving.scoring import smoke_test
from serving.settings import ServiceSettings, get_service_settings
from serving.store import FileStore
from tests.serving.asgi import service_app
from tests.serving.own_home import broken_copy, own_home
from training.data.contract import CleanData
from training.mlops import registry
from training.mlops.verify import LOAD_ERROR_TAG
from training.pipeline import train
from training.settings import get_settings

POLL_S = 0.3


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CleanData]]:
    with own_home(tmp_path_factory.mktemp("fresh-home")) as built:
        yield built


@pytest.fixture
def client(home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    folder, _ = home
    monkeypatch.setenv("CINTEL_HOME", str(folder))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}")
    monkeypatch.setenv("CINTEL_POLL_SECONDS", str(POLL_S))
    get_service_settings.cache_clear()
    get_settings.cache_clear()
    with TestClient(app=service_app()) as c:
        wait_until(lambda: c.get("/readyz").status_code == 200, "ready")
        yield c
    get_service_settings.cache_clear()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {timeout:.0f} s: {what}")


def status(client: TestClient) -> dict[str, Any]:
    return dict(client.post("/status", json={}).json())


def rounded(value: Any) -> Any:
    """Floats to 10 significant digits: one row and a 50,000-row chunk round differently in
    the last bits (the segments model's matrix product), nothing else may differ."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):  # each answer is its own decision: its id differs
        return {k: rounded(v) for k, v in value.items() if k != "decision_id"}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def answers(client: TestClient, ids: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for cid in ids:
        r = client.post("/profile", json={"customer_id": cid, "channel": "web"})
        assert r.status_code == 200, r.text
        out[cid] = rounded(r.json())
    return out


@pytest.mark.slow
def test_answers_follow_promote_and_rollback_and_name_their_versions(
    client: TestClient, home: tuple[Path, CleanData]
) -> None:
    folder, data = home
    ids = pd.read_parquet(folder / "store" / "profiles.parquet")["customer_id"].astype(str)
    ids = ids.tolist()[:40]
    before = answers(client, ids)
    assert {a["model_versions"]["churn"] for a in before.values()} == {"1"}
    assert status(client)["store_stale_for"] == []

    # a different churn model (another training window) becomes @champion
    (result,) = train(data, as_of=pd.Timestamp("2025-05-15"), models=["churn"])
    new = str(result.version)
    if result.decision != "promoted":
        registry.promote("churn", new)
    wait_until(lambda: status(client)["versions"]["churn"] == new, f"churn v{new} loaded")
    fresh = answers(client, ids)
    for cid in ids:  # scored on read with exactly the versions the answer names
        assert fresh[cid]["model_versions"] == {**before[cid]["model_versions"], "churn": new}
        for part in ("propensity", "segment", "clv", "value_tier", "rfm", "economics"):
            assert fresh[cid][part] == before[cid][part]  # the other models: same scores
    changed = [c for c in ids if fresh[c]["churn"] != before[c]["churn"]]
    assert changed, "the new churn model should score some customer differently"
    now = status(client)
    assert now["store_stale_for"] == ["churn"] and now["scored_on_read"] >= len(ids)
    batch = client.post("/profiles", json={"customer_ids": ids, "channel": "web"}).json()
    assert rounded(batch["profiles"]) == [fresh[c] for c in ids]

    # re-materializing publishes the same scores: the fast path takes over unchanged
    materialize(data, ServiceSettings(home=folder))
    wait_until(lambda: status(client)["store"]["versions"]["churn"] == new, "new store loaded")
    assert answers(client, ids) == fresh
    assert status(client)["store_stale_for"] == []

    # a rollback: within one poll the answers are the old champion's again
    assert registry.rollback("churn") == "1"
    wait_until(lambda: status(client)["versions"]["churn"] == "1", "churn v1 back")
    assert answers(client, ids) == before


def test_a_store_without_model_inputs_keeps_naming_its_own_versions(
    home: tuple[Path, CleanData],
) -> None:
    folder, _ = home
    profiles = pd.read_parquet(folder / "store" / "profiles.parquet")
    store = FileStore(profiles, {"versions": {"churn": "1"}})  # no features file named
    models = ModelSet(versions={"churn": "7"})
    assert stale_models(store.meta["versions"], models.versions) == ["churn"]
    fresh = FreshAnswers(store, models, load_catalogue(None))
    assert fresh.batch([str(profiles["customer_id"].iloc[0])]) is None
    assert fresh.error is not None and "keeps no model inputs" in fresh.error


def test_the_follower_keeps_the_last_good_model_and_tags_a_broken_one(
    home: tuple[Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = home
    uri = f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(tracking_uri=uri)
    good = client.get_model_version_by_alias("cintel-churn", "champion").version
    seen: list[tuple[str, str, str | None]] = []

    class Heard:
        def loaded(self, model: str, version: str) -> None:
            seen.append(("loaded", model, version))

        def failed(self, model: str, version: str | None, reason: str) -> None:
            seen.append(("failed", model, version))

    manager = ModelManager(tmp_path / "cache", uri, smoke_test, listener=Heard())
    manager.refresh()
    assert manager.ready and manager.current.versions["churn"] == str(good)
    broken = broken_copy("churn", str(good), "truncated")
    client.set_registered_model_alias("cintel-churn", "champion", broken)
    assert manager.refresh() == {}  # not swapped in
    assert manager.current.versions["churn"] == str(good)
    assert manager.load_failures["churn"] == 1 and ("failed", "churn", broken) in seen
    assert LOAD_ERROR_TAG in client.get_model_version("cintel-churn", broken).tags
    manager.refresh()  # tagged: not downloaded, loaded or counted again
    assert manager.load_failures["churn"] == 1
    client.set_registered_model_alias("cintel-churn", "champion", str(good))
