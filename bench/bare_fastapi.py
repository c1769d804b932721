"""Baseline: a bare FastAPI endpoint returning one XGBoost prediction (run with uvicorn)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from bench.bare_model import predict_one, train_booster


class Row(BaseModel):
    features: list[float]


_STATE: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    _STATE["booster"] = train_booster()
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/predict")
def predict(request: Row) -> dict[str, float]:
    return {"p": predict_one(_STATE["booster"], request.features)}
