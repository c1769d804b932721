"""The service's ASGI app, built once per process (BentoML registers its Prometheus metrics
when it builds the app, so a second build in the same process fails)."""

from __future__ import annotations

from typing import Any

_APP: list[Any] = []


def service_app() -> Any:
    """The one ASGI app of this test process."""
    from serving.service import Cintel

    if not _APP:
        _APP.append(Cintel.to_asgi())
    return _APP[0]
