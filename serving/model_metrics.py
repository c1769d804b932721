"""Prometheus metrics of the models the service follows; BentoML serves them on /metrics.

- ``cintel_model_served_version{model}``: the version each model answers with;
- ``cintel_model_load_failures_total{model}``: versions that failed to download, load or
  smoke-score (each is tagged ``serving.load_error`` and kept out of service);
- ``cintel_store_stale{model}``: 1 while the store holds another version's scores for the
  model, so answers are scored on read (see ``serving.fresh``), else 0.

``prometheus_client`` is imported when the service starts, not at import time: BentoML
sets its multiprocess directory in the worker first, and metrics created before that would
never reach /metrics. The metrics exist once per process (``_metrics`` is cached).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any


@cache
def _metrics() -> tuple[Any, Any, Any]:
    from prometheus_client import Counter, Gauge

    served = Gauge(
        "cintel_model_served_version",
        "Registry version each model answers with",
        ["model"],
        multiprocess_mode="livemostrecent",
    )
    failures = Counter(
        "cintel_model_load_failures",
        "Model versions that failed to download, load or smoke-score",
        ["model"],
    )
    stale = Gauge(
        "cintel_store_stale",
        "1 while the store holds another version's scores for the model (scored on read)",
        ["model"],
        multiprocess_mode="livemostrecent",
    )
    return served, failures, stale


def _number(version: str) -> float:
    try:
        return float(version)
    except ValueError:
        return -1.0


class ModelMetrics:
    """The follower's listener: swaps and load failures become Prometheus samples."""

    def __init__(self, models: Iterable[str]) -> None:
        self.served, self.failures, self.stale_gauge = _metrics()
        for model in models:  # every series exists from the start, at 0
            self.failures.labels(model=model)
            self.stale_gauge.labels(model=model).set(0)

    def loaded(self, model: str, version: str) -> None:
        self.served.labels(model=model).set(_number(version))

    def failed(self, model: str, version: str | None, reason: str) -> None:
        if version is not None:
            self.failures.labels(model=model).inc()

    def stale(self, models: Iterable[str], stale: Iterable[str]) -> None:
        marked = set(stale)
        for model in models:
            self.stale_gauge.labels(model=model).set(1.0 if model in marked else 0.0)
