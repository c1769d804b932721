"""Materialize and campaign targets on Spark over Spark Connect agree with the pandas path.

A real Connect server (``scripts/spark_connect.py``) scores with the champions shipped as
bytes inside the ``mapInPandas`` function, as on a local session (``test_spark_score``);
the agreement is the same: every numeric output within 1e-6, text identical.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from serving.batch.targets import campaign_targets
from serving.catalogue import default_catalogue
from serving.settings import ServiceSettings
from serving.store import PROFILES_FILE
from tests.agreement import assert_stores_agree
from training.data.contract import CleanData

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def connect_store(
    trained_home: tuple[Path, CleanData], spark_connect, tmp_path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the pandas store of the trained home, the store materialized over Connect)."""
    from serving.batch.spark_materialize import materialize_spark

    home, data = trained_home
    data.transactions.to_parquet(tmp_path / "transactions.parquet", index=False)
    data.customers.to_parquet(tmp_path / "customers.parquet", index=False)
    uri = f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}"
    settings = ServiceSettings(home=tmp_path / "sc").model_copy(update={"mlflow_tracking_uri": uri})
    result = materialize_spark(
        str(tmp_path / "transactions.parquet"),
        str(tmp_path / "customers.parquet"),
        settings,
        spark_connect,
    )
    assert result.location == str(settings.store_dir / PROFILES_FILE)
    want = pd.read_parquet(ServiceSettings(home=home).store_dir / PROFILES_FILE)
    return want, pd.read_parquet(settings.store_dir / PROFILES_FILE)


def test_materialize_and_targets_over_connect_agree_with_pandas(
    connect_store, spark_connect, tmp_path: Path
) -> None:
    from serving.batch.spark_materialize import targets_spark

    want, got = connect_store
    assert len(want) > 2000
    assert_stores_agree(got, want)

    # campaign lists from the store's file, ranked per Arrow batch on the server
    path = tmp_path / "profiles.parquet"
    want.to_parquet(path, index=False)
    catalogue = default_catalogue()
    spark_connect.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "300")
    try:
        for campaign in ("retention", "cross-sell"):
            expected = campaign_targets(want, campaign, 40, catalogue)
            ranked = targets_spark(str(path), campaign, 40, catalogue, spark_connect)
            # at most 40: the retention list takes only customers at risk
            assert 20 <= len(expected) <= 40
            pd.testing.assert_frame_equal(ranked, expected)
    finally:
        spark_connect.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
