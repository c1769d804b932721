"""Service settings from the environment (``CINTEL_*``); nothing happens at import time.

They extend training's settings (the same ``CINTEL_HOME`` layout and MLflow URI) with what
only the service needs: the store backend, limits, auth, polling and its processes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from training.settings import Settings


class ServiceSettings(Settings):
    """How the service finds its models, its store and its logs, and its limits."""

    store: Literal["file", "redis"] = "file"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "cintel"
    api_key: str | None = None
    # a file holding the key (a mounted secret); read when CINTEL_API_KEY is not set
    api_key_file: Path | None = None
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    poll_seconds: float = Field(default=30.0, ge=0.0)
    offers_path: Path | None = None
    # the app log's line per rejected request: "brief" (status, endpoint, field) or "full"
    # (also the error message, which may quote the input, and BentoML's traceback)
    log_rejected: Literal["brief", "full"] = "brief"
    # decision records (CINTEL_HOME/decisions) for every answer that ranks offers; "off"
    # answers with decision_id null and records nothing (the benchmark's baseline)
    decisions: Literal["on", "off"] = "on"
    # /feedback by decision_id finds decisions of the last N days (default: the offer
    # catalogue's longest response window); older ones are unknown
    feedback_days: int | None = Field(default=None, ge=1, le=3660)
    # `cintel serve`: BentoML workers (with 2 or more, one can die and restart while the
    # others answer; see the README on what is per worker), and how long a stop waits for
    # requests in flight before the processes are killed
    workers: int = Field(default=2, ge=1, le=64)
    # value tiers of the published store: by the segments model's margin_365d ("margin"),
    # or re-cut at materialize on the 12-month net contribution of costs.yaml, same shares
    tier_value: Literal["margin", "net_contribution"] = "margin"
    # issue 15's additions to a publish (P&L and lifecycle columns, the cintel-potential
    # and cintel-churn-partial scores): "off" publishes the store without them (benchmarks
    # of what they cost, bench/bench_issue15.py; a fallback)
    economics: Literal["on", "off"] = "on"
    drain_seconds: float = Field(default=10.0, gt=0, le=3600)
    # while no worker accepts connections (all of them died at once), the server process
    # answers those that waited this long with 503 instead of leaving them hanging until a
    # new worker is up (serving.standby); 0 leaves them waiting
    standby_503_seconds: float = Field(default=1.0, ge=0, le=60)
    # the worker's garbage collector: "on" freezes the long-lived heap after it loads and
    # after each poll, and makes young passes rarer (serving.heap); "off": CPython's defaults
    gc: Literal["on", "off"] = "on"
    # BentoML's own per-request access log line (beside cintel's request log and its
    # line per rejected request), and its OpenTelemetry span per request (created even
    # when no trace is sampled or exported): "on" only with a tracing exporter configured
    access_log: Literal["on", "off"] = "off"
    # POST /profile and /profiles answered by cintel's guard middleware itself, past
    # BentoML's per-request handler (serving.fast_route); "off": through BentoML's route
    fast_route: Literal["on", "off"] = "on"
    tracing: Literal["on", "off"] = "off"
    # who turns accepted events into profile rows: "process", one updater process that
    # `cintel serve` starts and restarts beside the workers (serving.event_updater; a worker
    # computes its own events' rows while none runs), or "worker": each worker's own thread
    event_updater: Literal["process", "worker"] = "process"

    @model_validator(mode="after")
    def _key_from_file(self) -> ServiceSettings:
        """``api_key_file`` fills ``api_key``: one line, surrounding whitespace dropped."""
        if self.api_key or self.api_key_file is None:
            return self
        path = self.api_key_file
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"API key file {path}: cannot read it ({exc.strerror})") from exc
        if not key:
            raise ValueError(f"API key file {path}: the file is empty")
        self.api_key = key
        return self

    @property
    def model_cache_dir(self) -> Path:
        return self.home / "model-cache"

    @property
    def feedback_dir(self) -> Path:
        return self.home / "feedback"

    @property
    def events_dir(self) -> Path:
        return self.home / "events"

    @property
    def decision_log_dir(self) -> Path:
        return self.home / "decisions"


@lru_cache(maxsize=1)
def get_service_settings() -> ServiceSettings:
    """The process-wide settings; tests clear the cache after changing the environment."""
    return ServiceSettings()


def settings_for_store(store: str | None = None) -> ServiceSettings:
    """The settings from the environment, with the store backend a command's ``--store``
    names (None: the configured one)."""
    settings = ServiceSettings()
    return settings.model_copy(update={"store": store}) if store else settings
