"""A trained, materialized cintel home shared by the service tests (built once per module)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from starlette.testclient import TestClient

from serving.batch.materialize import materialize
from serving.settings import ServiceSettings, get_service_settings
from tests.serving.asgi import service_app
from tests.serving.own_home import point_service_at
from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.pipeline import train
from training.settings import get_settings


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CleanData]]:
    """CINTEL_HOME with all four champions and a file store of 2,500 simulated customers."""
    home = tmp_path_factory.mktemp("cintel-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("CINTEL_POLL_SECONDS", "0")
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        sim = synthesize(SynthConfig(n_customers=2500, end="2025-06-30", seed=5))
        data = validate(sim.transactions, sim.customers)
        results = train(data)
        assert all(r.decision == "promoted" for r in results), results
        materialize(data, ServiceSettings(home=home))
        try:
            yield home, data
        finally:
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
            get_settings.cache_clear()
            get_service_settings.cache_clear()


@pytest.fixture
def service_env(
    trained_home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The environment a service process would have, pointing at the trained home."""
    home, _ = trained_home
    point_service_at(monkeypatch, home)
    yield home
    get_service_settings.cache_clear()


# the required /score features of a customer with a short purchase history
HISTORY = {
    "recency_days": 12.0,
    "frequency": 2.0,
    "margin_365d": 20.0,
    "gross_spend": 60.0,
    "monetary_mean": 30.0,
    "btyd_frequency": 1.0,
    "btyd_recency": 20.0,
    "btyd_T": 40.0,
    "btyd_monetary": 30.0,
}

CANARY_ID = "canary-7f3a9c"
CANARY_EMAIL = "canary.7f3a9c@example.org"


def send_canary_requests(client: Any) -> list[int]:
    """Rejected requests carrying the canary id and email in every place a client can
    (``client``: a TestClient or an httpx.Client); returns their statuses."""
    calls = [
        ("/profile", {"customer_id": CANARY_ID}),
        ("/profile", {"customer_id": CANARY_ID, "email": CANARY_EMAIL}),
        ("/profile", {"customer_id": "1", CANARY_EMAIL: CANARY_ID}),
        ("/score", {"features": {CANARY_EMAIL * 3: 1.0}}),
        ("/profile", {"customer_id": [CANARY_ID, CANARY_EMAIL]}),
        ("/profiles", {"customer_ids": [CANARY_ID], "channel": {"email": CANARY_EMAIL}}),
        ("/score", {"customer_id": CANARY_ID, "features": {CANARY_EMAIL: 1.0}}),
        ("/feedback", {"customer_id": CANARY_ID, "offer_id": CANARY_EMAIL, "channel": "web",
                       "outcome": "shown"}),
        ("/feedback", {"customer_id": CANARY_ID, "offer_id": "xs_wine_intro", "channel": "web",
                       "outcome": "shown"}),
    ]  # fmt: skip
    statuses = [client.post(path, json=body).status_code for path, body in calls]
    raw = b'{"customer_id": "' + CANARY_ID.encode() + b'", "email": '
    statuses.append(client.post("/profile", content=raw).status_code)
    plain = client.post(
        "/profile", content=CANARY_EMAIL.encode(), headers={"content-type": "text/plain"}
    )
    statuses.append(plain.status_code)
    return statuses


@pytest.fixture
def asgi_app(service_env: Path) -> Any:
    """The service's ASGI app (one per process) with the trained home's settings."""
    return service_app()


@pytest.fixture
def client(asgi_app: Any) -> Iterator[TestClient]:
    """A test client of the service, once /readyz says it is ready."""
    with TestClient(app=asgi_app) as c:
        for _ in range(100):  # __init__ refreshes the models in a background thread
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        yield c


def known_id(home: Path) -> str:
    """A customer the trained home's file store knows."""
    import pandas as pd

    return str(pd.read_parquet(home / "store" / "profiles.parquet")["customer_id"].iloc[0])
