"""Service settings from the environment (``CINTEL_*``); nothing happens at import time.

The service does not import ``training``: it shares only the environment variables and
the folder layout under ``CINTEL_HOME``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """How the service finds its models, its store and its logs, and its limits."""

    model_config = SettingsConfigDict(env_prefix="CINTEL_", extra="ignore")

    home: Path = Path(".cintel")
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")
    store: Literal["file", "redis"] = "file"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "cintel"
    api_key: str | None = None
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    poll_seconds: float = Field(default=30.0, ge=0.0)
    offers_path: Path | None = None

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow' / 'mlflow.db').resolve()}"

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def model_cache_dir(self) -> Path:
        return self.home / "model-cache"

    @property
    def request_log_dir(self) -> Path:
        return self.home / "requests"

    @property
    def feedback_dir(self) -> Path:
        return self.home / "feedback"


@lru_cache(maxsize=1)
def get_service_settings() -> ServiceSettings:
    """The process-wide settings; tests clear the cache after changing the environment."""
    return ServiceSettings()
