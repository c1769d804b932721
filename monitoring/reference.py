"""The champion's reference sample: what the model saw at training, to compare traffic with."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from training.settings import Settings
from training.tasks import MODELS


def load_champion_reference(model: str = "churn", settings: Settings | None = None) -> pd.DataFrame:
    """``reference/reference.parquet`` of the run behind ``cintel-<model>@champion``.

    LookupError when there is no champion or its run logged no reference sample.
    """
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from training.mlops.registry import champion_version
    from training.mlops.tracking import REFERENCE_ARTIFACT, configure_tracking, model_name

    configure_tracking(settings)
    client = MlflowClient()
    name = model_name(model)
    version = champion_version(model, client)
    if version is None:
        raise LookupError(f"{name} has no @champion version: run `cintel train` first")
    run_id = client.get_model_version(name, version).run_id
    if not run_id:
        raise LookupError(f"{name} version {version} has no source run to take a reference from")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp
            )
        except (MlflowException, OSError) as exc:
            raise LookupError(
                f"{name}@champion (version {version}, run {run_id}) has no {REFERENCE_ARTIFACT}: "
                "retrain it with `cintel train`"
            ) from exc
        frame = pd.read_parquet(Path(path))
    frame.attrs.update({"model": name, "version": version, "run_id": run_id})
    return frame


def load_service_reference(
    models: Sequence[str] = MODELS,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The champions' reference samples side by side, joined on customer_id.

    Each model's sample holds its features and its own predictions; every run samples its
    training frame with the same seed, so the samples share customers when the training
    frames match. Columns already present keep the first model's values; models without a
    champion are left out (LookupError when none has one). ``attrs["versions"]`` holds the
    champion version of every model that was included.
    """
    merged: pd.DataFrame | None = None
    versions: dict[str, str] = {}
    for model in models:
        try:
            frame = load_champion_reference(model, settings)
        except LookupError:
            continue
        versions[model] = str(frame.attrs["version"])
        if merged is None:
            merged = frame
            continue
        new = [c for c in frame.columns if c not in merged.columns]
        if "customer_id" in frame.columns and "customer_id" in merged.columns and new:
            merged = merged.merge(frame[["customer_id", *new]], on="customer_id", how="inner")
    if merged is None:
        raise LookupError("no cintel model has a @champion version: run `cintel train` first")
    merged.attrs["versions"] = versions
    return merged
