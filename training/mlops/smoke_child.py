"""``python -m training.mlops.smoke_child SPEC``: load and smoke-score models in a process of
their own (see ``training.mlops.verify``).

``SPEC`` is JSON: a list of ``{"model", "folder", "example"}``, ``example`` the input
example as Parquet written by the parent (so a cintel bundle loads here without importing
MLflow, a few seconds on a busy machine) or null. The child prints one JSON object, model
-> error (null when it loaded and scored), and exits 0; a crash shows as a signal."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd


def check_outputs(model: str, out: Any, n_rows: int) -> None:
    """Raise unless there is one prediction per row and some finite number among them."""
    frame = out if isinstance(out, pd.DataFrame) else pd.DataFrame(out)
    if len(frame) != n_rows:
        raise ValueError(f"{model}: {len(frame)} predictions for {n_rows} rows")
    numeric = frame.select_dtypes("number").drop(columns=["customer_id"], errors="ignore")
    values = numeric.to_numpy(dtype="float64").ravel()
    if values.size and not any(math.isfinite(v) for v in values):
        raise ValueError(f"{model}: smoke prediction gave no finite number")


def bundle_dir(folder: Path) -> Path | None:
    """The cintel bundle (folder with manifest.json) inside a downloaded model, if any."""
    found = sorted(p.parent for p in Path(folder).rglob("manifest.json"))
    return found[0] if found else None


def smoke(model: str, folder: Path, example: pd.DataFrame | None) -> None:
    """Load the model under ``folder`` and score ``example`` (the model's own when None): a
    cintel bundle with the service's code, anything else through its MLflow pyfunc."""
    if example is None:
        from training.mlops.verify import input_example

        example = input_example(folder)
    if example is None:
        raise ValueError(f"{model}: no input example to smoke-test with")
    bundle = bundle_dir(folder)
    if bundle is not None:
        from training.tasks import load_bundle

        check_outputs(model, load_bundle(bundle).predict_frame(example), len(example))
        return
    import mlflow

    roots = sorted(p.parent for p in Path(folder).rglob("MLmodel"))
    if not roots:
        raise FileNotFoundError(f"{model}: no MLmodel file in the downloaded artifacts")
    check_outputs(model, mlflow.pyfunc.load_model(str(roots[0])).predict(example), len(example))


def main(argv: list[str]) -> int:
    results: dict[str, str | None] = {}
    for item in json.loads(argv[0]):
        model = item["model"]
        try:
            example = pd.read_parquet(item["example"]) if item.get("example") else None
            smoke(model, Path(item["folder"]), example)
            results[model] = None
        except Exception as exc:
            results[model] = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
