"""Customer economics in the store and /profile: P&L from costs.yaml, potential value and
share of wallet from a cintel-potential champion, lifecycle stage; all precomputed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from monitoring.entry import cli
from serving.batch.materialize import materialize
from serving.profile import build_profile, render_profile
from serving.schemas import ProfileAnswer
from serving.settings import ServiceSettings, get_service_settings
from serving.store import FileStore
from tests.serving.conftest import known_id
from tests.serving.own_home import home_beside
from training.data.contract import CleanData
from training.economics import STAGES, load_costs
from training.potential.model import yearly_spend

COSTS = """\
per_order: {default: 0.5, store: 2.0, online: 1.0}
per_return: 4.0
acquisition: {by: acquisition_channel, costs: {default: 10.0, web: 25.0}}
"""


def test_profile_has_economics_lifecycle_and_says_costs_are_zero(
    client: TestClient, trained_home: tuple[Path, CleanData]
) -> None:
    home, _ = trained_home
    cid = known_id(home)
    body = client.post("/profile", json={"customer_id": cid}).json()
    ProfileAnswer.model_validate(body)  # documented in the OpenAPI page, extra="forbid"
    econ = body["economics"]
    assert econ["costs"].startswith("none: no costs.yaml")
    assert econ["cost_to_serve_12m"] == 0 and econ["contact_cost_12m"] == 0
    assert econ["net_contribution_12m"] == pytest.approx(
        econ["margin_12m"] - econ["returns_12m"], abs=0.011
    )
    assert body["lifecycle"]["stage"] in STAGES
    assert pd.Timestamp(body["lifecycle"]["since"]) <= pd.Timestamp("2025-07-01")
    # the shared home has no cintel-potential champion: the potential is unknown, not 0
    assert body["potential"] == {"value_12m": None, "share_of_wallet": None, "headroom": None}


@pytest.fixture(scope="module")
def econ_home(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, CleanData]:
    """A copy of the trained home's registry plus a cintel-potential champion, materialized
    with a costs.yaml (a data folder written from the same tables)."""
    source, data = trained_home
    home = tmp_path_factory.mktemp("econ-home")
    with home_beside(source, data, home, {"costs.yaml": COSTS}, ["potential"]) as folder:
        materialize(data, ServiceSettings(home=home), costs=load_costs(folder))
    return home, folder, data


def test_store_has_priced_pnl_potential_and_stages(econ_home: tuple[Path, Path, CleanData]) -> None:
    home, folder, data = econ_home
    store = pd.read_parquet(home / "store" / "profiles.parquet")
    assert (store["costs_file"] == str(folder / "costs.yaml")).all()
    net = store["margin_12m"] - store["returns_12m"] - store["cost_to_serve_12m"]
    np.testing.assert_allclose(
        store["net_contribution_12m"], net - store["contact_cost_12m"], atol=0.011
    )
    # cost to serve is at least 0.5 an order, and 2.0 a store order at most
    buyers = store["orders_12m"] > 0
    assert (store.loc[buyers, "cost_to_serve_12m"] >= 0.5 * store.loc[buyers, "orders_12m"]).all()
    channel = data.customers.set_index(data.customers["customer_id"].astype(str))
    web = channel.reindex(store["customer_id"].astype(str))["acquisition_channel"].eq("web")
    web = web.to_numpy()
    assert web.any() and not web.all()
    assert (store.loc[web, "acquisition_cost"] == 25.0).all()
    assert (store.loc[~web, "acquisition_cost"] == 10.0).all()
    assert store["share_of_wallet"].between(0, 1).all()
    np.testing.assert_allclose(
        store["potential_headroom"],
        store["potential_value_12m"] - yearly_spend(store, 90.0),
        rtol=1e-6,
        atol=1e-6,
    )
    assert set(store["lifecycle_stage"]) <= set(STAGES)
    assert store["lifecycle_stage"].nunique() >= 4

    row = store.iloc[int(np.flatnonzero(buyers.to_numpy())[0])].to_dict()
    profile = build_profile(row)
    assert profile["potential"]["value_12m"] == pytest.approx(row["potential_value_12m"])
    assert profile["economics"]["costs"] == str(folder / "costs.yaml")
    answer = render_profile(row)[:-1] + (
        b',"held_out":[],"ranking":{},"model_versions":{},"cold_start":false,'
        b'"offers":[],"decision_id":null}'
    )
    ProfileAnswer.model_validate_json(answer)


def test_bad_costs_file_stops_materialize_naming_the_key(
    econ_home: tuple[Path, Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, folder, _ = econ_home
    bad = tmp_path / "data"
    shutil.copytree(folder, bad)
    (bad / "costs.yaml").write_text("per_order: {store: free}\n")
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    get_service_settings.cache_clear()
    result = CliRunner().invoke(cli, ["materialize", "--data", str(bad)])
    get_service_settings.cache_clear()
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "per_order.store must be a number" in text and "costs.yaml" in text
    assert not (tmp_path / "home" / "store").exists()


def test_tiers_can_be_cut_on_net_contribution(monkeypatch: pytest.MonkeyPatch) -> None:
    from serving.batch.materialize import net_contribution_tiers

    # 20 customers with a positive net contribution 1..20, two at 0 or below
    net = np.r_[np.arange(1.0, 21.0), 0.0, -5.0]
    got = net_contribution_tiers(net, (0.05, 0.15, 0.30))
    # top 5 % of 20 = 1 platinum, next 15 % = 3 gold, next 30 % = 6 silver, 10 bronze
    expected = ["bronze"] * 10 + ["silver"] * 6 + ["gold"] * 3 + ["platinum"]
    assert got.tolist() == [*expected, "value_destroyer", "value_destroyer"]
    monkeypatch.setenv("CINTEL_TIER_VALUE", "net_contribution")
    assert ServiceSettings().tier_value == "net_contribution"


@pytest.mark.parametrize(
    ("stored", "churn", "expected"),
    [
        ("active", 0.8, ("at risk", "2025-06-30")),  # the churn rule, since the store's as_of
        ("won back", 0.7, ("at risk", "2025-06-30")),
        ("active", 0.69, ("active", "2024-03-01")),
        ("lapsed", 0.9, ("lapsed", "2024-03-01")),  # rule 2 comes before the churn rule
        ("new", 0.9, ("new", "2024-03-01")),
        ("active", None, ("active", "2024-03-01")),
    ],
)
def test_profile_applies_the_churn_rule_to_the_stage(
    stored: str, churn: float | None, expected: tuple[str, str]
) -> None:
    row = {
        "customer_id": "7",
        "churn_probability": churn,
        "lifecycle_stage": stored,
        "lifecycle_since": "2024-03-01",
        "lifecycle_as_of": "2025-06-30",
    }
    lifecycle = build_profile(row)["lifecycle"]
    assert (lifecycle["stage"], lifecycle["since"]) == expected


def _event_rows(
    source: Path, tmp_path: Path, data: CleanData, settings_of: dict[str, str], n: int = 40
) -> tuple[dict[str, dict[str, Any]], FileStore]:
    """A copy of ``source`` published with ``settings_of`` (ServiceSettings fields), one
    small purchase for each of its first ``n`` customers through the event path (one
    update call), then the next full publish (which folds those events); returns the
    event rows by customer and that publish's store."""
    from serving.events import EventUpdates
    from tests.serving.test_events import Loaded, event

    home = tmp_path / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("events", "requests"))
    settings = ServiceSettings(home=home, **settings_of)  # type: ignore[arg-type]
    costs = load_costs(source / "data")
    materialize(data, settings, costs=costs)
    store = FileStore.load(settings.store_dir)
    assert store.meta["tier_value"] == settings.tier_value  # the publish says how it cut
    # the event path cuts tiers as the publish did, whatever the updater's own setting
    updates = EventUpdates(settings.events_dir, settings.store_dir, store.meta, Loaded(settings))
    ids = [str(store.row(i)["customer_id"]) for i in range(n)]
    records = [
        {**event(f"econ-{c}", c, store, ts="2025-06-30T12:00:00", amount=0.02, margin=0.01),
         "quantity": 1.0, "received": 0.0}
        for c in ids
    ]  # fmt: skip
    assert len(updates.accept(records)) == n
    rows = {r["customer_id"]: r for r in updates.update(ids)}
    assert updates.error is None and len(rows) == n
    materialize(data, settings, costs=costs)
    return rows, FileStore.load(settings.store_dir)


@pytest.mark.slow  # two publishes: ~15-30 s
def test_the_event_path_prices_acquisition_and_cuts_net_tiers_as_the_publish(
    econ_home: tuple[Path, Path, CleanData], tmp_path: Path
) -> None:
    """Under CINTEL_TIER_VALUE=net_contribution an event-updated row's value tier is cut
    on its net contribution (by the publish's cuts) as the next full publish cuts it, and
    its acquisition cost is its acquisition channel's: the history keeps the customers'
    columns as attr_ features, and the event path looks the costs' column up there."""
    source, _, data = econ_home
    rows, batch = _event_rows(source, tmp_path, data, {"tier_value": "net_contribution"})
    expected = {c: batch.get(c) for c in rows}
    for column in ("acquisition_cost", "value_tier"):
        got = {c: r[column] for c, r in rows.items()}
        assert got == {c: row[column] for c, row in expected.items() if row}, column
    assert {r["acquisition_cost"] for r in rows.values()} == {10.0, 25.0}  # both channels
    assert len({r["value_tier"] for r in rows.values()}) >= 3
