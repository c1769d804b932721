"""RedisStore against a real redis-server: same answers as FileStore for the same frame."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serving.store import FileStore, RedisStore, write_file_store, write_redis_store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed: apt-get install redis-server")
    import redis

    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*cmd, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def frame() -> pd.DataFrame:
    """Four customers with the column kinds a store holds: floats with NaN, ints, strings."""
    return pd.DataFrame(
        {
            "customer_id": [101, 102, 103, 104],
            "recency_days": [3.0, 40.5, np.nan, 200.0],
            "frequency": np.array([5, 1, 0, 12], dtype="int64"),
            "churn_probability": [0.1, 0.55, 0.9, 0.25],
            "churn_reasons": ["recency_days high; frequency low", "", "new customer", "x"],
            "segment": ["loyal", "at_risk", "new", "loyal"],
        }
    )


def test_redis_answers_like_the_file_store(
    redis_url: str, frame: pd.DataFrame, tmp_path: Path
) -> None:
    meta = {"as_of": "2025-06-30T00:00:00", "versions": {"churn": "3"}}
    assert write_redis_store(frame, meta, redis_url, prefix="t1", chunk=3) == 4
    write_file_store(frame, meta, tmp_path)
    redis_store, file_store = RedisStore(redis_url, prefix="t1"), FileStore.load(tmp_path)

    assert len(redis_store) == len(file_store) == 4
    assert redis_store.meta["versions"] == {"churn": "3"}
    assert redis_store.meta["n_customers"] == 4
    for cid in ["101", "102", "103", "104"]:
        assert redis_store.get(cid) == file_store.get(cid)
    row = redis_store.get("103")
    assert row is not None and row["recency_days"] is None and row["frequency"] == 0
    assert redis_store.get("999") is None
    ids = ["104", "999", "101"]
    assert redis_store.get_many(ids) == file_store.get_many(ids)
    assert redis_store.get_many(ids)[1] is None


def test_a_store_without_meta_is_a_clear_error(redis_url: str, frame: pd.DataFrame) -> None:
    with pytest.raises(FileNotFoundError, match="no cintel store under prefix 'empty'"):
        RedisStore(redis_url, prefix="empty")
