"""Log a saved model bundle to MLflow as a models-from-code pyfunc, and fetch it back.

A bundle is a folder with ``manifest.json`` and native files (XGBoost ``.ubj``, JSON
arrays): no pickle anywhere. The pyfunc wrapper is ``pyfunc_model.py`` beside this file
(models from code), so ``mlflow.pyfunc.load_model`` scores with exactly the code the service
runs. Loading the pyfunc needs the cintel package installed (it is not on PyPI, so it is
not in the model's requirements).
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol, cast

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, DataType, Schema

from training.mlops.tracking import model_name

BUNDLE_ARTIFACT = "bundle"
ID = "customer_id"


class SavableModel(Protocol):
    def save(self, path: Path) -> None: ...

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame: ...


def _requirements() -> list[str]:
    return [f"{p}=={version(p)}" for p in ("mlflow", "numpy", "pandas", "pyarrow", "xgboost")]


def log_bundle_model(model: SavableModel, example: pd.DataFrame) -> ModelInfo:
    """Save ``model`` to a temporary bundle and log it as ``model`` in the active run."""
    outputs = _json_safe(model.predict_frame(example))
    signature = ModelSignature(inputs=declared_schema(example), outputs=declared_schema(outputs))
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / BUNDLE_ARTIFACT
        model.save(bundle)
        return cast(
            ModelInfo,
            mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(__file__).with_name("pyfunc_model.py")),
                artifacts={BUNDLE_ARTIFACT: str(bundle)},
                pip_requirements=_requirements(),
                signature=signature,
                input_example=example,
            ),
        )


def declared_schema(frame: pd.DataFrame) -> Schema:
    """The frame's MLflow schema with integer columns declared as doubles (a count that may
    be missing arrives as a float), but ``customer_id``: the key, never missing, stays long
    (MLflow refuses to turn an int64 id into a double). Inferring it from the doubles keeps
    MLflow's "integer columns cannot represent missing values" hint away: its cause is gone.
    """
    ints = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c].dtype)]
    schema: Schema = infer_signature(frame.astype({c: "float64" for c in ints})).inputs
    if ID not in ints:
        return schema
    return Schema(
        [
            ColSpec(DataType.long, ID, required=spec.required)
            if isinstance(spec, ColSpec) and spec.name == ID
            else spec
            for spec in schema.inputs
        ]
    )


def _json_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists (e.g. reasons) become '; '-joined strings for the signature."""
    out = frame.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, list)).any():
            out[col] = out[col].map(lambda v: "; ".join(v) if isinstance(v, list) else v)
    return out


def download_bundle(model: str, version: str | int, dst: Path) -> Path:
    """Download the bundle folder of ``cintel-<model>`` version ``version`` into ``dst``."""
    uri = f"models:/{model_name(model)}/{version}"
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))
    found = [p.parent for p in local.rglob("manifest.json")]
    if not found:
        raise LookupError(f"{uri}: no bundle (manifest.json) in the model's artifacts")
    return found[0]


def example_rows(features: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """A small input example: the first rows, numbers as float64, categories as strings."""
    head = features.head(n).copy()
    for col in head.columns:
        if isinstance(head[col].dtype, pd.CategoricalDtype) or head[col].dtype == object:
            head[col] = head[col].astype(object).where(head[col].notna(), None).astype(str)
        elif pd.api.types.is_numeric_dtype(head[col]) and col != "customer_id":
            head[col] = head[col].astype("float64")
    return head


def as_params(config: Any) -> dict[str, Any]:
    """A dataclass config as flat MLflow params."""
    from dataclasses import asdict, is_dataclass

    if not is_dataclass(config) or isinstance(config, type):
        return {}
    return {
        k: v if isinstance(v, int | float | str | bool) else str(v)
        for k, v in asdict(config).items()
    }
