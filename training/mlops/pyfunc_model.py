"""MLflow models-from-code entry: a cintel model bundle as an MLflow pyfunc, no pickle.

Training logs every model with ``python_model=<this file>`` and the saved bundle folder as
the artifact ``bundle``; ``mlflow.pyfunc.load_model("models:/cintel-churn@champion")``
then scores a features frame with the same code the service uses.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext


class BundleModel(PythonModel):
    """Loads the bundle folder and scores a features frame with the serving scorer."""

    def load_context(self, context: PythonModelContext) -> None:
        from training.tasks import load_bundle

        self.scorer = load_bundle(context.artifacts["bundle"])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: Any = None
    ) -> pd.DataFrame:
        return self.scorer.predict_frame(model_input)


mlflow.models.set_model(BundleModel())
