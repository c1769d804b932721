"""Batch scoring for the online store: threads and chunks change the speed, not the results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner

import serving
import serving.batch.materialize as materialize
from monitoring.entry import cli
from serving.batch.materialize import load_champions, score_all
from serving.catalogue import CatalogueError
from serving.settings import ServiceSettings
from training.data.contract import CleanData
from training.data.snapshot import build_snapshot
from training.segments import SegmentsModel


def test_threaded_scoring_equals_serial_scoring(
    trained_home: tuple[Path, CleanData], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, data = trained_home
    scorers, _ = load_champions(ServiceSettings(home=home))
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    monkeypatch.setattr(materialize, "CHUNK", 400)  # 7 chunks of the 2,500 customers
    seen: list[str] = []
    serial = score_all(features, scorers, threads=1)
    threaded = score_all(features, scorers, seen.append, threads=2)
    pd.testing.assert_frame_equal(serial, threaded)
    assert len(seen) == 7 and len(threaded) == len(features)
    assert threaded["customer_id"].tolist() == features["customer_id"].tolist()
    assert threaded["churn_reasons"].ne("").any()  # the churn reasons were computed
    # nor do the chunks: one chunk of everyone gives the same profiles, CLV interval included
    monkeypatch.setattr(materialize, "CHUNK", 50_000)
    pd.testing.assert_frame_equal(score_all(features, scorers, threads=1), serial)
    assert serial["clv_12m_p90"].nunique() > len(serial) // 4


def test_approximate_reasons_change_only_the_reasons(
    trained_home: tuple[Path, CleanData],
) -> None:
    home, data = trained_home
    scorers, _ = load_champions(ServiceSettings(home=home))
    snap = build_snapshot(data, None, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    exact = score_all(features, scorers)
    approx = score_all(features, scorers, approx_reasons=True)
    pd.testing.assert_frame_equal(
        exact.drop(columns="churn_reasons"), approx.drop(columns="churn_reasons")
    )
    with_exact, with_approx = exact["churn_reasons"].ne(""), approx["churn_reasons"].ne("")
    assert with_exact.sum() > 100
    assert (with_exact == with_approx).mean() > 0.95  # the same customers get reasons
    first = lambda s: s.str.split("; ").str[0]  # noqa: E731
    agree = (first(exact["churn_reasons"]) == first(approx["churn_reasons"]))[with_exact].mean()
    assert 0.5 < agree < 1.0  # mostly the same top driver, but a different method


def _catalogue(tmp_path: Path, segments: list[str]) -> Path:
    """The default catalogue plus one offer for the given segments."""
    data = yaml.safe_load(Path(serving.__file__).with_name("offers.yaml").read_text())
    data["offers"].append(
        {
            "id": "upsell_segment_club",
            "kind": "up_sell",
            "value": 5.0,
            "accept_rate": 0.1,
            "eligible": {"segments": segments},
        }
    )
    path = tmp_path / "offers.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _settings(trained: Path, home: Path, offers: Path) -> ServiceSettings:
    """A fresh home (its own store and model cache) on the trained home's registry."""
    uri = f"sqlite:///{trained / 'mlflow' / 'mlflow.db'}"
    settings = ServiceSettings(home=home, offers_path=offers)
    return settings.model_copy(update={"mlflow_tracking_uri": uri})


def _champion_segments(home: Path) -> SegmentsModel:
    scorers, _ = load_champions(ServiceSettings(home=home))
    model = scorers["segments"]
    assert isinstance(model, SegmentsModel)
    return model


def test_materialize_refuses_a_catalogue_naming_a_removed_segment(
    trained_home: tuple[Path, CleanData], tmp_path: Path
) -> None:
    home, data = trained_home
    kept = _champion_segments(home).ids[0]
    offers = _catalogue(tmp_path, [kept, "weekend_gardeners"])
    settings = _settings(home, tmp_path / "home", offers)
    with pytest.raises(CatalogueError) as err:
        materialize.materialize(data, settings)
    message = str(err.value)
    assert "offer 'upsell_segment_club' names segment 'weekend_gardeners'" in message
    assert f"offer catalogue {offers}" in message and "segments champion v1" in message
    assert kept in message  # the ids it does have
    assert not settings.store_dir.exists()  # nothing written


def test_publish_checks_the_scored_segments_before_writing(
    trained_home: tuple[Path, CleanData], tmp_path: Path
) -> None:
    home, _ = trained_home
    model = _champion_segments(home)
    profiles = pd.DataFrame(
        {"customer_id": ["1", "2"], **{c: [0.5, 0.5] for c in model.prob_columns}}
    )
    meta = {"versions": {"segments": "1"}, "as_of": "2025-07-01"}
    gone = _settings(home, tmp_path / "a", _catalogue(tmp_path, ["gone_segment"]))
    with pytest.raises(CatalogueError, match="names segment 'gone_segment'"):
        materialize.publish(pa.Table.from_pandas(profiles), meta, gone, "file")  # as Spark's
    assert not gone.store_dir.exists()
    # a display name is read as its id; low_activity is always a segment
    named = [model.names[0], "low_activity"]
    fine = _settings(home, tmp_path / "b", _catalogue(tmp_path, named))
    materialize.publish(profiles, meta, fine, "file")
    assert (fine.store_dir / "profiles.parquet").exists()


def test_cintel_materialize_exits_non_zero_naming_segment_and_file(
    trained_home: tuple[Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, data = trained_home
    folder = tmp_path / "data"
    folder.mkdir()
    data.transactions.to_parquet(folder / "transactions.parquet", index=False)
    data.customers.to_parquet(folder / "customers.parquet", index=False)
    offers = _catalogue(tmp_path, ["weekend_gardeners"])
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    monkeypatch.setenv("CINTEL_OFFERS_PATH", str(offers))
    result = CliRunner().invoke(cli, ["materialize", "--data", str(folder)])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "'weekend_gardeners'" in text and str(offers) in text
    assert not (tmp_path / "home" / "store").exists()


def test_a_failed_publish_keeps_the_history_of_the_store_in_place(
    trained_home: tuple[Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history file is written beside the scoring; the previous store's history (the
    one its meta names, which the event path reads) goes only once the new store is written."""
    home, data = trained_home
    settings = _settings(home, tmp_path / "home", Path(serving.__file__).with_name("offers.yaml"))
    champions = load_champions(settings, optional=True)
    first = materialize.materialize(data, settings, champions=champions)
    store = settings.store_dir
    named = json.loads((store / "meta.json").read_text())["events"]["history"]

    def refused(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("the store could not be written")

    monkeypatch.setattr(materialize, "publish", refused)
    with pytest.raises(RuntimeError, match="could not be written"):
        materialize.materialize(data, settings, champions=champions)
    assert (store / f"{named}-tx.arrow").exists() and (store / f"{named}-customers.arrow").exists()
    monkeypatch.undo()
    second = materialize.materialize(data, settings, champions=champions)
    now = json.loads((store / "meta.json").read_text())["events"]["history"]
    assert now != named and second.n_customers == first.n_customers
    assert sorted(p.name for p in store.glob("history-*.arrow")) == [
        f"{now}-customers.arrow",
        f"{now}-tx.arrow",
    ]
