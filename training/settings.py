"""Typed settings read from the environment; nothing happens at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where cintel keeps its state and how it reaches MLflow.

    Everything stateful lives under ``home`` (``CINTEL_HOME``, default ``./.cintel``).
    ``MLFLOW_TRACKING_URI`` replaces the embedded sqlite store with a real server.
    """

    model_config = SettingsConfigDict(env_prefix="CINTEL_", extra="ignore")

    home: Path = Field(default=Path(".cintel"))
    mlflow_tracking_uri: str | None = Field(default=None, validation_alias="MLFLOW_TRACKING_URI")

    @property
    def tracking_uri(self) -> str:
        """The tracking URI: the environment's, or sqlite under ``home``."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow' / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        """Artifact folder of the embedded MLflow store."""
        return (self.home / "mlflow" / "artifacts").resolve()

    @property
    def store_dir(self) -> Path:
        """Online store folder."""
        return self.home / "store"

    @property
    def reports_dir(self) -> Path:
        """Monitoring reports folder."""
        return self.home / "reports"

    @property
    def request_log_dir(self) -> Path:
        """Durable request log folder."""
        return self.home / "requests"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after setting env."""
    return Settings()
