"""Materialize and campaign targets on Spark agree with the pandas path on a trained home.

Agreement: the same customers; every numeric output within 1e-6 (absolute, or relative
for values above 1), the CLV interval's Monte Carlo quantiles included (their draws are
keyed by each customer's history, not by the batch), and text outputs identical.
"""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest

from serving.batch.materialize import materialize
from serving.batch.targets import campaign_targets
from serving.catalogue import default_catalogue
from serving.settings import ServiceSettings
from serving.store import PROFILES_FILE
from tests.agreement import assert_stores_agree
from training.data.contract import CleanData

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def stores(
    trained_home: tuple[Path, CleanData], spark_session, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(pandas profiles, Spark profiles, Spark meta) from the trained home's champions."""
    import json

    from serving.batch import spark_materialize

    home, data = trained_home
    tmp = tmp_path_factory.mktemp("spark-materialize")
    data.transactions.to_parquet(tmp / "transactions.parquet", index=False)
    data.customers.to_parquet(tmp / "customers.parquet", index=False)
    uri = f"sqlite:///{(home / 'mlflow' / 'mlflow.db').resolve()}"

    def settings(name: str) -> ServiceSettings:
        return ServiceSettings(home=tmp / name).model_copy(update={"mlflow_tracking_uri": uri})

    materialize(data, settings("pandas"))
    spark_settings = settings("spark")
    # several range partitions, as at scale: the store must still come out in id order
    with patch.object(spark_materialize, "SCORE_ROWS_PER_PARTITION", 400):
        result = spark_materialize.materialize_spark(
            str(tmp / "transactions.parquet"),
            str(tmp / "customers.parquet"),
            spark_settings,
            spark_session,
        )
    assert result.location == str(spark_settings.store_dir / PROFILES_FILE)
    want = pd.read_parquet(tmp / "pandas" / "store" / PROFILES_FILE)
    got = pd.read_parquet(spark_settings.store_dir / PROFILES_FILE)
    meta = json.loads((spark_settings.store_dir / "meta.json").read_text())
    return want, got, meta


def test_spark_scores_agree_with_pandas(stores) -> None:
    want, got, meta = stores
    assert meta["engine"] == "spark" and meta["n_customers"] == len(want) > 2000
    # both stores are in customer order, without a sort on the driver
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert (
        want["customer_id"].is_monotonic_increasing
        or want["customer_id"].astype(int).is_monotonic_increasing
    )
    assert_stores_agree(got, want)
    # the interval is really there, and differs between customers
    assert want["clv_12m_p90"].nunique() > len(want) // 4
    assert (want["clv_12m_p90"] > want["clv_12m_p10"]).mean() > 0.5


@pytest.mark.parametrize("campaign", ["retention", "cross-sell"])
def test_spark_targets_agree_with_pandas(
    stores, spark_session, tmp_path: Path, campaign: str
) -> None:
    from serving.batch.spark_materialize import targets_spark

    want_profiles = stores[0]
    path = tmp_path / "profiles.parquet"
    want_profiles.to_parquet(path, index=False)
    catalogue = default_catalogue()
    want = campaign_targets(want_profiles, campaign, 40, catalogue)  # type: ignore[arg-type]
    # small Arrow batches, so Spark ranks several and the driver merges their best rows
    spark_session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "300")
    try:
        got = targets_spark(str(path), campaign, 40, catalogue, spark_session)  # type: ignore[arg-type]
    finally:
        spark_session.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    # at most 40: the retention list takes only customers at risk
    assert 20 <= len(want) <= 40
    pd.testing.assert_frame_equal(got, want)
