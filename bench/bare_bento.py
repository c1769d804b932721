"""Baseline: a bare BentoML endpoint returning one XGBoost prediction (``bentoml serve``)."""

from __future__ import annotations

import bentoml
from pydantic import BaseModel

from bench.bare_model import predict_one, train_booster


class Row(BaseModel):
    features: list[float]


@bentoml.service(name="bare", traffic={"timeout": 30}, monitoring={"enabled": False})
class Bare:
    """One model, one prediction per request."""

    def __init__(self) -> None:
        self.booster = train_booster()

    @bentoml.api(route="/predict")
    def predict(self, request: Row, /) -> dict[str, float]:
        return {"p": predict_one(self.booster, request.features)}
