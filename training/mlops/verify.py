"""Test-load a registered version before any alias moves to it, and remember broken ones.

``verify_version`` downloads the version, loads it and scores its own input example (the
smoke test the service runs before a swap) in a child process: XGBoost 3.2 crashes the
process (SIGSEGV) on some truncated ``.ubj`` files instead of raising, so a broken
artifact must never be opened first in a process that matters. A version that fails is tagged
``serving.load_error`` with the reason (the service tags what it cannot load the same way),
so neither the gate nor a rollback selects it again; a later ``cintel promote`` that loads
it clears the tag.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from training.mlops.smoke_child import bundle_dir, check_outputs
from training.tasks import FittedModel

if TYPE_CHECKING:  # MLflow is imported where a registry is used: the service starts without it
    from mlflow import MlflowClient

LOAD_ERROR_TAG = "serving.load_error"
MAX_REASON = 500
CHILD_TIMEOUT_S = 180.0
EXAMPLE_COPY = "cintel_input_example.parquet"  # input_example's copy beside MLmodel


class UnusableVersionError(ValueError):
    """A registered version that does not download, load or smoke-score."""


def input_example(folder: Path) -> pd.DataFrame | None:
    """The input example MLflow stored next to the model, if any.

    Parsed by MLflow once: a copy is kept beside it as Parquet (``EXAMPLE_COPY``: the same
    frame, dtypes included), so a process that loads the model again (a restarted service
    worker) reads that without importing MLflow, seconds of a worker's start."""
    roots = sorted(p.parent for p in Path(folder).rglob("MLmodel"))
    if not roots:
        return None
    copy = roots[0] / EXAMPLE_COPY
    if copy.exists():
        try:
            return pd.read_parquet(copy)
        except Exception:  # a damaged copy: parse the original again
            copy.unlink(missing_ok=True)
    from mlflow.models import Model

    example = Model.load(str(roots[0])).load_input_example(str(roots[0]))
    if not isinstance(example, pd.DataFrame):
        return None
    tmp = copy.with_name(f".{copy.name}.{os.getpid()}")
    try:  # atomic: the service's workers share the model cache
        example.to_parquet(tmp)
        os.replace(tmp, copy)
    except Exception:  # a read-only folder or a frame Parquet cannot hold: parse each time
        tmp.unlink(missing_ok=True)
    return example


def smoke_test(model: str, scorer: FittedModel, folder: Path) -> list[str]:
    """Raise unless ``scorer`` scores the model's own input example into finite numbers;
    return the example's columns (the model's inputs)."""
    example = input_example(folder)
    if example is None:
        raise ValueError(f"{model}: no input example to smoke-test with")
    check_outputs(model, scorer.predict_frame(example), len(example))
    return list(example.columns)


def _run_child(items: list[tuple[str, Path]], tmp: Path, timeout: float) -> dict[str, str | None]:
    """One child process smoke-testing ``items``; raises ValueError when it dies."""
    spec = []
    for model, folder in items:
        example_path = None
        if bundle_dir(folder) is not None:  # a cintel bundle: spare the child MLflow's import
            example = input_example(folder)
            if example is not None:
                example_path = tmp / f"{model}-example.parquet"
                example.to_parquet(example_path)
        spec.append({"model": model, "folder": str(folder), "example": example_path})
    root = str(Path(__file__).resolve().parents[2])  # the tree this module comes from
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}
    cmd = [sys.executable, "-m", "training.mlops.smoke_child", json.dumps(spec, default=str)]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ValueError(f"loading did not finish within {timeout:.0f} s") from exc
    if done.returncode < 0:
        raise ValueError(f"loading crashed the process (signal {-done.returncode})")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise ValueError(f"the loader failed: {tail[0]}")
    results: dict[str, str | None] = json.loads(lines[-1])
    return results


def check_isolated(
    items: list[tuple[str, Path]], timeout: float = CHILD_TIMEOUT_S
) -> dict[str, str | None]:
    """Load and smoke-score each (model, downloaded folder) in a fresh Python process (see
    the module docstring): model -> error, or None when it loads and scores.

    All in one child (one interpreter start); when that child crashes each model is tried
    in a child of its own, so the crash is pinned on the model that caused it."""
    if not items:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return _run_child(items, Path(tmp), timeout)
        except ValueError as exc:
            if len(items) == 1:
                return {items[0][0]: f"{items[0][0]}: {exc}"}
        out: dict[str, str | None] = {}
        for model, folder in items:
            try:
                out.update(_run_child([(model, folder)], Path(tmp), timeout))
            except ValueError as exc:
                out[model] = f"{model}: {exc}"
        return out


def load_and_smoke_isolated(model: str, folder: Path, timeout: float = CHILD_TIMEOUT_S) -> None:
    """``check_isolated`` for one model: ValueError with the reason when it fails."""
    error = check_isolated([(model, folder)], timeout).get(model)
    if error is not None:
        raise ValueError(error)


def unusable_reason(name: str, version: str, client: MlflowClient) -> str | None:
    """The recorded load error of ``name`` version ``version``, if any."""
    return client.get_model_version(name, version).tags.get(LOAD_ERROR_TAG)


def mark_unusable(name: str, version: str, reason: str, client: MlflowClient) -> None:
    """Tag the version ``serving.load_error`` with the reason (best effort)."""
    try:
        client.set_model_version_tag(name, version, LOAD_ERROR_TAG, reason[:MAX_REASON])
    except Exception:  # the registry is down: the caller reports the error
        return


def verify_version(name: str, version: str, client: MlflowClient | None = None) -> None:
    """Download, load and smoke-score ``name`` version ``version``.

    Raises UnusableVersionError naming the version and the cause (and tags it); on
    success a stale ``serving.load_error`` tag is removed."""
    import mlflow
    from mlflow import MlflowClient

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = client or MlflowClient()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=tmp
            )
            load_and_smoke_isolated(name, Path(local))
    except Exception as exc:  # any failure means: do not serve it
        reason = f"{type(exc).__name__}: {exc}"
        mark_unusable(name, version, reason, client)
        raise UnusableVersionError(
            f"{name} version {version} does not load or smoke-score ({reason}); "
            f"nothing was moved and it is tagged {LOAD_ERROR_TAG}"
        ) from exc
    if unusable_reason(name, version, client) is not None:
        client.delete_model_version_tag(name, version, LOAD_ERROR_TAG)
