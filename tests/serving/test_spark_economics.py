"""The Spark engine publishes issue 15's columns with the pandas engine's values.

A copy of the trained home's registry gets cintel-potential and cintel-churn-partial
champions; the same data folder (with a costs.yaml pricing orders by channel, returns and
acquisition by channel) is materialized by both engines, and every column agrees: text
identical, numbers within 1e-9 (the P&L in cents exactly). CINTEL_ECONOMICS=off gives the
Spark store of the four required models only, as before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.entry import cli
from serving.batch import spark_economics, spark_materialize
from serving.batch.materialize import materialize
from serving.batch.spark_materialize import targets_spark
from serving.batch.targets import campaign_targets
from serving.catalogue import default_catalogue
from serving.settings import ServiceSettings
from serving.store import PROFILES_FILE
from tests.agreement import ECONOMICS_COLUMNS, assert_frames_agree
from tests.serving.own_home import home_beside
from training.data.contract import CleanData
from training.economics import load_costs

pytestmark = [pytest.mark.spark, pytest.mark.slow]

COSTS = """\
per_order: {default: 0.5, store: 2.0, online: 1.0}
per_return: 4.0
acquisition: {by: acquisition_channel, costs: {default: 10.0, web: 25.0}}
"""
# the columns of issue 15: the economics and its two models' outputs
ISSUE_15 = sorted(
    ECONOMICS_COLUMNS
    | {"potential_value_12m", "share_of_wallet", "potential_headroom"}
    | {"churn_partial_probability", "churn_partial_reasons"}
)


@pytest.fixture(scope="module")
def econ_registry(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, CleanData]:
    """(tracking URI of a registry with all six store champions, data folder, data)."""
    source, data = trained_home
    home = tmp_path_factory.mktemp("spark-econ-home")
    models = ["potential", "churn-partial"]
    with home_beside(source, data, home, {"costs.yaml": COSTS}, models) as folder:
        pass
    return f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}", folder, data


def _settings(root: Path, uri: str) -> ServiceSettings:
    return ServiceSettings(home=root).model_copy(update={"mlflow_tracking_uri": uri})


def _spark_store(folder: Path, home: Path, uri: str, **env: str) -> tuple[pd.DataFrame, dict, str]:
    """`cintel materialize --engine spark` into ``home`` (the store, its meta, the output):
    the session is the test's (the active one), the CLI reads costs.yaml from ``folder``."""
    # several range partitions and several economics buckets, as at scale
    with (
        patch.object(spark_materialize, "SCORE_ROWS_PER_PARTITION", 400),
        patch.object(spark_economics, "CUSTOMERS_PER_BUCKET", 700),
    ):
        result = CliRunner().invoke(
            cli,
            ["materialize", "--data", str(folder), "--engine", "spark"],
            env={"CINTEL_HOME": str(home), "MLFLOW_TRACKING_URI": uri, **env},
        )
    assert result.exit_code == 0, result.output
    store = pd.read_parquet(home / "store" / PROFILES_FILE)
    meta = json.loads((home / "store" / "meta.json").read_text())
    return store, meta, " ".join(result.output.split())


@pytest.fixture(scope="module")
def both_stores(
    econ_registry: tuple[str, Path, CleanData],
    spark_session: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[pd.DataFrame, dict, pd.DataFrame, dict, str]:
    """(pandas store, its meta, Spark store, its meta, the Spark command's output)."""
    uri, folder, data = econ_registry
    tmp = tmp_path_factory.mktemp("spark-econ-stores")
    pandas_settings = _settings(tmp / "pandas", uri)
    materialize(data, pandas_settings, costs=load_costs(folder))
    want = pd.read_parquet(pandas_settings.store_dir / PROFILES_FILE)
    want_meta = json.loads((pandas_settings.store_dir / "meta.json").read_text())
    got, meta, output = _spark_store(folder, tmp / "spark", uri)
    return want, want_meta, got, meta, output


def test_spark_publishes_the_economics_pandas_does(
    both_stores: tuple[pd.DataFrame, dict, pd.DataFrame, dict, str],
) -> None:
    """(Tiers re-cut on net contribution: test_spark_economics_buckets, without Spark.)"""
    want, want_meta, got, meta, output = both_stores
    assert "warning" not in output and "every cost is 0" not in output  # costs.yaml read
    assert meta["versions"] == want_meta["versions"] and len(meta["versions"]) == 6
    assert set(ISSUE_15) <= set(got.columns)
    # the engines order the family features apart (as before); the rest in the same order
    assert sorted(got.columns) == sorted(want.columns)
    assert [c for c in got.columns if c in ISSUE_15] == [c for c in want.columns if c in ISSUE_15]
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert_frames_agree(got, want, rtol=1e-9, atol=1e-9)
    # the publish's state the event path places customers by, and the costs it prices by
    assert meta["cells"] == want_meta["cells"] and meta["costs"] == want_meta["costs"]
    assert meta["economics"] == "on"
    # the data really exercise the columns: priced orders, several stages, cells, tiers
    assert (got["cost_to_serve_12m"] > 0).mean() > 0.5
    assert set(got["acquisition_cost"]) == {10.0, 25.0}
    assert got["lifecycle_stage"].nunique() >= 4 and got["cell"].nunique() >= 10
    assert got["micro_segment"].str.contains(r"\*").any()  # some cells merged upward
    assert got["share_of_wallet"].between(0, 1).all()
    assert got["churn_partial_probability"].notna().mean() > 0.3  # NaN: no spend to lose


def test_economics_off_gives_the_required_models_only(
    econ_registry: tuple[str, Path, CleanData],
    trained_home: tuple[Path, CleanData],
    spark_session: object,
    tmp_path: Path,
) -> None:
    uri, folder, _ = econ_registry
    got, meta, _ = _spark_store(folder, tmp_path / "off", uri, CINTEL_ECONOMICS="off")
    assert not set(ISSUE_15) & set(got.columns)
    assert sorted(meta["versions"]) == ["churn", "clv", "propensity", "segments"]
    assert meta["economics"] == "off" and "cells" not in meta
    # the store the four required champions give (the shared home's, materialized by pandas)
    before = pd.read_parquet(trained_home[0] / "store" / PROFILES_FILE)
    assert sorted(got.columns) == sorted(before.columns[~before.columns.isin(ISSUE_15)])


@pytest.mark.parametrize(
    ("campaign", "options"),
    [
        ("upgrade", {}),
        ("win-back", {"min_value": 5.0}),
        ("retention", {"risk": "partial"}),
        ("cross-sell", {"strategies": ["develop", "maintain"]}),
    ],
)
def test_spark_ranks_the_value_campaigns_as_pandas(
    both_stores: tuple[pd.DataFrame, dict, pd.DataFrame, dict, str],
    spark_session: Any,
    tmp_path: Path,
    campaign: str,
    options: dict[str, Any],
) -> None:
    want_store, _, got_store, _, _ = both_stores
    path = tmp_path / "profiles.parquet"
    got_store.to_parquet(path, index=False)
    catalogue = default_catalogue()
    want = campaign_targets(want_store, campaign, 30, catalogue, **options)  # type: ignore[arg-type]
    # small Arrow batches, so Spark ranks several and the driver merges their best rows
    spark_session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "300")
    try:
        got = targets_spark(str(path), campaign, 30, catalogue, spark_session, **options)  # type: ignore[arg-type]
    finally:
        spark_session.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert len(want) >= 10, campaign
    pd.testing.assert_frame_equal(got, want)


def test_spark_targets_say_what_the_store_lacks(
    trained_home: tuple[Path, CleanData], spark_session: Any
) -> None:
    # the shared home has no cintel-potential champion: upgrade cannot rank, before any job
    path = trained_home[0] / "store" / PROFILES_FILE
    with pytest.raises(ValueError, match="upgrade ranks by potential headroom"):
        targets_spark(str(path), "upgrade", 10, default_catalogue(), spark_session)


def test_cli_targets_on_spark_ranks_win_back(
    both_stores: tuple[pd.DataFrame, dict, pd.DataFrame, dict, str],
    spark_session: Any,
    tmp_path: Path,
) -> None:
    """`cintel targets --engine spark` no longer refuses the value campaigns."""
    _, _, got_store, meta, _ = both_stores
    store = tmp_path / "home" / "store"
    store.mkdir(parents=True)
    got_store.to_parquet(store / PROFILES_FILE, index=False)
    (store / "meta.json").write_text(json.dumps(meta))
    out = tmp_path / "win-back.csv"
    args = ["targets", "--campaign", "win-back", "--top", "7", "--out", str(out)]
    env = {"CINTEL_HOME": str(tmp_path / "home"), "CINTEL_DECISIONS": "off"}
    lapsed = got_store["lifecycle_stage"] == "lapsed"
    strategy = str(got_store.loc[lapsed, "cell_strategy"].mode()[0])  # the lapsed's usual one
    result = CliRunner().invoke(cli, [*args, "--strategy", strategy, "--engine", "spark"], env=env)
    assert result.exit_code == 0, result.output
    listed = pd.read_csv(out)
    want = campaign_targets(got_store, "win-back", 7, default_catalogue(), strategies=[strategy])
    assert len(listed) == len(want) > 0
    assert listed["customer_id"].astype(str).tolist() == want["customer_id"].astype(str).tolist()
