"""A model's input example is parsed by MLflow once; later loads read the kept copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from training.mlops.verify import EXAMPLE_COPY, input_example

REPO = Path(__file__).resolve().parents[2]


def test_a_second_read_needs_no_mlflow_and_gives_the_same_frame(tmp_path: Path) -> None:
    import mlflow

    rng = np.random.default_rng(0)
    x = pd.DataFrame(
        {
            "recency": rng.normal(size=20),
            "frequency": rng.integers(0, 9, size=20),
            "attr_region": pd.Series(["north", None] * 10, dtype=object),  # with missing values
        }
    )
    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2, nthread=1).fit(
        x[["recency", "frequency"]], (x["recency"] > 0).astype(int)
    )
    mlflow.xgboost.save_model(clf, str(tmp_path / "model"), input_example=x.head(3))
    assert not (tmp_path / "model" / EXAMPLE_COPY).exists()

    first = input_example(tmp_path)
    assert first is not None
    assert (tmp_path / "model" / EXAMPLE_COPY).exists()

    # in a process where MLflow cannot be imported at all
    code = (
        "import sys; sys.modules['mlflow'] = None\n"
        "from training.mlops.verify import input_example\n"
        f"input_example({str(tmp_path)!r}).to_pickle({str(tmp_path / 'again.pkl')!r})"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "again.pkl"), first)


def test_a_damaged_copy_is_parsed_again(tmp_path: Path) -> None:
    import mlflow

    x = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 0, 1]})
    clf = xgb.XGBClassifier(n_estimators=2, max_depth=1, nthread=1).fit(x, [0, 1, 0])
    mlflow.xgboost.save_model(clf, str(tmp_path / "model"), input_example=x)
    expected = input_example(tmp_path)
    (tmp_path / "model" / EXAMPLE_COPY).write_bytes(b"not parquet")
    again = input_example(tmp_path)
    assert expected is not None and again is not None
    pd.testing.assert_frame_equal(again, expected)
