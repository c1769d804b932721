"""What one answered request looks like in the request log (pure; no I/O).

Customer ids only: ``attr_*`` columns (personal attributes) are never logged. Monitoring
reads these records back (``monitoring.requestlog``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from serving.scoring import LOGGED_OUTPUTS


@lru_cache(maxsize=64)
def log_layout(keys: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Feature and output keys logged for a row layout (computed once per store layout):
    no id, no ``attr_*``, model outputs apart."""
    features = [
        k
        for k in keys
        if k != "customer_id" and not k.startswith("attr_") and k not in LOGGED_OUTPUTS
    ]
    outputs = [k for k in LOGGED_OUTPUTS if k in keys]
    outputs += [k for k in keys if k.startswith("propensity_any__")]
    return features, outputs


def request_record(
    endpoint: str,
    row: dict[str, Any],
    customer_id: str | None,
    versions: dict[str, str],
    latency_ms: float,
    cold: bool,
) -> dict[str, Any]:
    """The log record of one answer built from the store (or scored) ``row``."""
    feature_keys, output_keys = log_layout(tuple(row))
    return {
        "endpoint": endpoint,
        "customer_id": customer_id,
        "cold_start": cold,
        "features": {k: v for k in feature_keys if not isinstance(v := row[k], str | list)},
        "outputs": {k: row[k] for k in output_keys},
        "versions": versions,
        "latency_ms": latency_ms,
    }
