"""The demo reports a swap only once every promoted version is served."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from monitoring.demo import SwapTimeoutError, wait_for_versions

PROMOTED = {"churn": "2", "clv": "2", "segments": "2"}


def _status(models: dict[str, str], store: dict[str, str]) -> dict[str, Any]:
    """A /status answer: the loaded models' versions and the store's."""
    return {"ready": True, "versions": models, "store": {"customers": 10, "versions": store}}


def _scripted(answers: list[dict[str, Any]]) -> tuple[Callable[[], dict[str, Any]], list[int]]:
    """A status callable giving ``answers`` in turn (then the last one); counts the calls."""
    calls = [0]
    it: Iterator[dict[str, Any]] = iter(answers)
    last = [answers[0]]

    def status() -> dict[str, Any]:
        calls[0] += 1
        last[0] = next(it, last[0])
        return last[0]

    return status, calls


def test_a_half_finished_swap_is_waited_out() -> None:
    old = {"churn": "1", "clv": "1", "segments": "1"}
    status, calls = _scripted(
        [
            _status(old, old),
            _status({**old, "churn": "2"}, old),  # the first change: what the demo used to take
            _status(PROMOTED, old),  # every model loaded, the store not yet reloaded
            _status(PROMOTED, PROMOTED),
        ]
    )
    served = wait_for_versions(status, PROMOTED, timeout=10, poll=0)
    assert calls[0] == 4
    assert served == {"models": PROMOTED, "store": PROMOTED}


def test_a_swap_that_never_completes_is_a_clear_timeout() -> None:
    stuck = {**PROMOTED, "segments": "1"}
    status, _ = _scripted([_status(stuck, PROMOTED)])
    with pytest.raises(SwapTimeoutError) as caught:
        wait_for_versions(status, PROMOTED, timeout=0.2, poll=0.05)
    message = str(caught.value)
    assert "segments v2 (models still at 1)" in message
    assert "churn" not in message and "after 0 s" in message
