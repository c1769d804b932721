"""MLflow stays quiet where nothing is wrong: no integer-column hint (the signature declares
counts as doubles), no registry prints unless MLflow's log level asks for info."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import Model
from mlflow.types import DataType

from training.mlops import registry
from training.mlops.modellog import declared_schema, example_rows, log_bundle_model
from training.mlops.tracking import INTEGER_HINT, log_snapshot_input, training_run
from training.settings import Settings


class _Counts:
    """A bundle-shaped model whose outputs include an integer count."""

    def save(self, path: Path) -> None:
        path.mkdir(parents=True)
        (path / "manifest.json").write_text('{"model": "churn"}')

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"customer_id": features["customer_id"], "purchases": [2] * len(features)}
        )


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [1, 2, 3], "frequency": [4, 0, 7], "recency_days": [3.0, None, 9.5]}
    )


def test_the_signature_declares_counts_as_doubles_and_keeps_the_id_a_long() -> None:
    schema = declared_schema(_features())
    types = {spec.name: spec.type for spec in schema.inputs}
    assert types == {
        "customer_id": DataType.long,
        "frequency": DataType.double,
        "recency_days": DataType.double,
    }
    strings = declared_schema(pd.DataFrame({"customer_id": ["a"], "n": [1]}))
    assert {s.name: s.type for s in strings.inputs} == {
        "customer_id": DataType.string,
        "n": DataType.double,
    }


def test_logging_and_registering_raise_no_hint_and_print_nothing(
    mlflow_home: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "WARNING")
    warnings.onceregistry.clear()  # MLflow shows its hint "once" per process
    features = _features()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with training_run("churn"):
            log_snapshot_input(features, "2025-01-01", "abc", "training")
            info = log_bundle_model(_Counts(), example_rows(features))
        registry.register_challenger("churn", info.model_uri)
    hints = [str(w.message) for w in caught if INTEGER_HINT in str(w.message)]
    assert hints == []
    err = capsys.readouterr().err
    assert "Successfully registered" not in err and "Created version" not in err
    model = Model.load(info.model_uri)
    assert model.signature is not None
    outputs = {s.name: s.type for s in model.signature.outputs.inputs}
    assert outputs == {"customer_id": DataType.long, "purchases": DataType.double}

    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "INFO")  # cintel -v: MLflow as it is
    registry.register_challenger("churn", info.model_uri)
    assert "Created version '2' of model 'cintel-churn'" in capsys.readouterr().err
    assert MlflowClient().get_registered_model("cintel-churn").aliases["challenger"] == 2
