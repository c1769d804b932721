"""Partial churn served beside total churn: the store's own columns (materialize and the
event path), /profile's churn.partial_probability with its reasons, and retention lists
aimed at partial churners (`cintel targets --churn partial`)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr
from starlette.testclient import TestClient

from monitoring.entry import cli
from serving.batch.materialize import load_champions, materialize
from serving.events import EventUpdates
from serving.profile import build_profile
from serving.scoring import REASONS_FROM
from serving.settings import ServiceSettings, get_service_settings
from serving.store import RedisStore
from tests.serving.asgi import service_app
from tests.serving.own_home import point_service_at
from tests.serving.test_events import Loaded, _records, store_of
from tests.serving.test_redis_store import redis_url  # noqa: F401 (a fixture)
from training.data.contract import CleanData
from training.pipeline import train
from training.settings import get_settings

COLUMNS = ["churn_partial_probability", "churn_partial_reasons"]


@pytest.fixture(scope="module")
def partial_home(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CleanData]:
    """The trained home's registry plus a cintel-churn-partial champion, materialized."""
    source, data = trained_home
    home = tmp_path_factory.mktemp("partial-home")
    (home / "mlflow").mkdir()
    shutil.copyfile(source / "mlflow" / "mlflow.db", home / "mlflow" / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CINTEL_HOME", str(home))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        get_service_settings.cache_clear()
        (result,) = train(data, models=["churn-partial"])
        assert result.decision == "promoted", result
        materialize(data, ServiceSettings(home=home))
    get_settings.cache_clear()
    get_service_settings.cache_clear()
    return home, data


@pytest.fixture
def partial_env(
    partial_home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home, _ = partial_home
    point_service_at(monkeypatch, home)
    yield home
    get_service_settings.cache_clear()


def test_the_store_keeps_partial_churn_in_its_own_columns(
    partial_home: tuple[Path, CleanData], trained_home: tuple[Path, CleanData]
) -> None:
    home, _ = partial_home
    store = pd.read_parquet(home / "store" / "profiles.parquet")
    before = pd.read_parquet(trained_home[0] / "store" / "profiles.parquet")
    # the partial head adds its two columns and changes no other
    assert [c for c in store.columns if c not in before.columns] == COLUMNS
    pd.testing.assert_frame_equal(store[list(before.columns)], before)
    p = store["churn_partial_probability"]
    # defined for the customers with a transaction in the 90 days before as_of, else null
    defined = store["recency_days"] <= 90
    assert defined.any() and (~defined).any()
    assert (p.notna() == defined).all()
    assert p[defined].between(0, 1).all() and p.nunique() > 10
    # reasons as for total churn: from REASONS_FROM on, none below
    high = p >= REASONS_FROM
    assert high.any() and (~high).any()
    assert (store.loc[high, "churn_partial_reasons"] != "").all()
    assert (store.loc[~high, "churn_partial_reasons"] == "").all()
    # still buying but less vs buying nothing: the heads rank the other way round
    rho = spearmanr(store.loc[defined, "churn_probability"], p[defined]).statistic
    assert rho < 0


def test_profile_answers_partial_churn_beside_total_churn(partial_env: Path) -> None:
    store = pd.read_parquet(partial_env / "store" / "profiles.parquet")
    row = store.iloc[int(store["churn_partial_probability"].fillna(-1.0).to_numpy().argmax())]
    with TestClient(app=service_app()) as client:
        for _ in range(200):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        body = client.post("/profile", json={"customer_id": str(row["customer_id"])}).json()
    churn = body["churn"]
    assert churn["partial_probability"] == pytest.approx(row["churn_partial_probability"])
    assert churn["partial_reasons"] == row["churn_partial_reasons"].split("; ")
    assert churn["probability"] == pytest.approx(row["churn_probability"])
    assert body["model_versions"]["churn-partial"] == "1"


def test_a_store_without_the_partial_head_answers_null(client: TestClient) -> None:
    store = pd.read_parquet(get_service_settings().store_dir / "profiles.parquet")
    body = client.post("/profile", json={"customer_id": str(store["customer_id"][0])}).json()
    assert body["churn"]["partial_probability"] is None
    assert body["churn"]["partial_reasons"] == []


def test_targets_aim_a_retention_list_at_partial_churners(
    partial_env: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "partial.csv"
    args = ["targets", "--campaign", "retention", "--top", "40"]
    result = runner.invoke(cli, [*args, "--churn", "partial", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "retention (partial churners) targets" in result.output
    listed = pd.read_csv(out)
    assert len(listed) == 40
    # ranked by the partial risk x CLV (no campaign ranks by uplift here), highest first
    assert (listed["ranking"] == "expected_value").all()
    expected = listed["churn_partial_probability"] * listed["clv_12m"].clip(lower=0)
    np.testing.assert_allclose(listed["score"], expected, rtol=1e-9)
    assert listed["score"].is_monotonic_decreasing
    # the retention offers' min_churn (0.4 or more) now applies to the partial risk
    assert (listed["churn_partial_probability"] >= 0.4).all()
    # the total churn probability is listed beside it, from the store
    store = pd.read_parquet(partial_env / "store" / "profiles.parquet")
    store.index = store["customer_id"].astype(str)
    total = store["churn_probability"].reindex(listed["customer_id"].astype(str).to_numpy())
    np.testing.assert_allclose(listed["churn_probability"], total.to_numpy())
    runner.invoke(cli, [*args, "--out", str(tmp_path / "total.csv")])
    aimed_at_total = pd.read_csv(tmp_path / "total.csv")
    assert set(aimed_at_total["customer_id"]) != set(listed["customer_id"])


def test_targets_partial_needs_the_partial_scores(service_env: Path, tmp_path: Path) -> None:
    args = ["targets", "--campaign", "retention", "--churn", "partial", "--out"]
    result = CliRunner().invoke(cli, [*args, str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert "no partial-churn scores (churn_partial_probability)" in " ".join(result.output.split())
    cross = CliRunner().invoke(
        cli, ["targets", "--campaign", "cross-sell", "--churn", "partial", "--out", "x.csv"]
    )
    assert cross.exit_code == 1 and "retention list" in cross.output


def test_the_event_path_updates_partial_churn_as_the_next_materialize(
    partial_home: tuple[Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, data = partial_home
    home = tmp_path / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("events", "requests"))
    monkeypatch.setenv("CINTEL_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    get_service_settings.cache_clear()
    settings = ServiceSettings(home=home)
    materialize(data, settings)  # a store with this home's history
    store = store_of(home)
    updates = EventUpdates(settings.events_dir, settings.store_dir, store.meta, Loaded(settings))
    known = str(store.row(7)["customer_id"])
    assert len(updates.accept(_records(store, known, 2, "pc"))) == 2
    [got] = updates.update([known])
    materialize(data, settings)  # folds the event log: the next full publish
    expected = store_of(home).get(known)
    assert expected is not None
    assert got["churn_partial_probability"] == pytest.approx(
        expected["churn_partial_probability"], rel=1e-9
    )
    assert got["churn_partial_reasons"] == expected["churn_partial_reasons"]
    get_service_settings.cache_clear()


def test_economics_off_publishes_without_issue_15s_columns(
    partial_home: tuple[Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CINTEL_ECONOMICS=off (the benchmark's baseline): no P&L, lifecycle, potential or
    partial churn in the store, and the event path adds none either."""
    source, data = partial_home
    home = tmp_path / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("events", "requests"))
    monkeypatch.setenv("CINTEL_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    monkeypatch.setenv("CINTEL_ECONOMICS", "off")
    get_service_settings.cache_clear()
    settings = ServiceSettings(home=home)
    assert settings.economics == "off"
    full = store_of(home)
    champions = load_champions(settings, optional=True)
    materialize(data, settings, champions=champions)
    assert "churn-partial" in champions[0] and "churn-partial" in champions[1]  # not mutated
    store = store_of(home)
    assert "churn-partial" in full.meta["versions"]
    assert "churn-partial" not in store.meta["versions"] and store.meta["economics"] == "off"
    gone = set(full.row(0)) - set(store.row(0))
    assert {*COLUMNS, "net_contribution_12m", "lifecycle_stage"} <= gone
    assert set(store.row(0)) < set(full.row(0))  # nothing else is added
    updates = EventUpdates(settings.events_dir, settings.store_dir, store.meta, Loaded(settings))
    known = str(store.row(3)["customer_id"])
    updates.accept(_records(store, known, 1, "off"))
    [got] = updates.update([known])
    assert set(got) == set(store.row(3)) | {"as_of"}
    get_service_settings.cache_clear()


def test_the_redis_store_serves_partial_churn_as_the_file_store(
    partial_home: tuple[Path, CleanData],
    redis_url: str,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, data = partial_home
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{source / 'mlflow' / 'mlflow.db'}")
    settings = ServiceSettings(home=tmp_path / "home", redis_url=redis_url, redis_prefix="pc")
    materialize(data, settings, backend="redis")
    files = store_of(source)
    redis_store = RedisStore(redis_url, "pc")
    rows = [files.row(i) for i in range(40)]
    shown = [r for r in rows if r["churn_partial_probability"] is not None][:3]
    blank = [r for r in rows if r["churn_partial_probability"] is None][:1]
    assert len(shown) == 3 and len(blank) == 1
    for expected in shown:
        got = redis_store.get(str(expected["customer_id"]))
        assert got is not None
        assert got["churn_partial_probability"] == pytest.approx(
            expected["churn_partial_probability"], rel=1e-9
        )
        assert got["churn_partial_reasons"] == expected["churn_partial_reasons"]
        churn = build_profile(got)["churn"]
        assert churn["partial_probability"] == pytest.approx(expected["churn_partial_probability"])
    got = redis_store.get(str(blank[0]["customer_id"]))
    assert got is not None and build_profile(got)["churn"]["partial_probability"] is None


def test_the_partial_head_is_scored_on_columns_as_score_all_scores_it(
    partial_home: tuple[Path, CleanData], partial_env: Path
) -> None:
    """The event path scores the partial head with the numpy recipes (no pandas
    fallback), bit for bit as the publish: undefined rows NaN, reasons above the cut."""
    from serving.batch.materialize import kept_columns, load_champions, score_all
    from serving.rowscore import _scorer, churn_columns, score_columns
    from serving.store import FileStore
    from tests.serving.test_rowscore import _assert_same

    home, _ = partial_home
    scorers, _ = load_champions(ServiceSettings(home=home), optional=True)
    assert _scorer("churn-partial", scorers["churn-partial"]) is churn_columns
    store = FileStore.load(home / "store")
    features = store.features([str(store.row(i)["customer_id"]) for i in range(0, len(store), 7)])
    assert features is not None
    expected = score_all(features, dict(scorers), threads=1)
    partial = expected["churn_partial_probability"]
    assert partial.isna().any() and partial.notna().any()
    assert (expected["churn_partial_reasons"] != "").any()
    _assert_same(expected, score_columns(features, scorers, kept_columns(list(features.columns))))
