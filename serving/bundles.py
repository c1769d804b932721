"""Load a saved model bundle by its manifest ``kind`` into a scorer.

The layering is training <- serving <- monitoring: the service scores with the same
model classes that training fitted and evaluated (their predict code is pure numpy and
XGBoost), so training, batch materialisation, the MLflow pyfunc and the service cannot
disagree. Serving never imports training's pipeline, MLflow logging or CLI.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Protocol

import pandas as pd

from training.bundle import MANIFEST_FILE

# manifest kind -> "module:Class" with a ``load(path)`` classmethod
KINDS = {
    "cintel-churn": "training.churn.model:ChurnModel",
    "cintel-propensity": "training.propensity.model:PropensityModel",
    "cintel-segments": "training.segments.model:SegmentsModel",
    "cintel-clv": "training.clv.learned:ClvModel",
}


class Scorer(Protocol):
    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame: ...


def load_scorer(bundle: str | Path) -> Scorer:
    """The model saved in ``bundle`` (a folder with manifest.json)."""
    folder = Path(bundle)
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"{folder}: not a cintel model bundle (no manifest.json)")
    kind = json.loads(manifest_path.read_text()).get("kind")
    if kind not in KINDS:
        raise ValueError(f"{manifest_path}: unknown model kind {kind!r}")
    module, cls = KINDS[kind].split(":")
    model_cls = getattr(importlib.import_module(module), cls)
    scorer: Scorer = model_cls.load(folder)
    return scorer
