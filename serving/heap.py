"""The garbage collector kept off the request path (``CINTEL_GC``): long-lived data frozen.

A worker holds a large long-lived heap: the imported libraries, the models, the online
store and the prepared answers (about 4 KB per customer asked about). CPython's full
collection walks every tracked object; over a 20k-customer store one took ~147 ms, a
stall of every request in flight once per few thousand requests. ``settle()`` moves what
exists to the permanent generation (``gc.freeze()``), which no collection walks, after the
service loads and after each poll (new store, new models, answers prepared meanwhile), so
a full pass sees only what is new since; the young generations are collected first, so
what is frozen is what survived. Frozen objects are still freed by their reference counts
when dropped (an old store, an old model set); only reference cycles among them are never
collected, and the service's long-lived data has none to speak of.

The first generation's threshold is raised as well (CPython's 700 allocations start a
young pass every few requests); ``off`` keeps CPython's defaults (the benchmark's baseline).
"""

from __future__ import annotations

import gc
from typing import Any, Literal

# young passes every 20,000 net allocations of tracked objects instead of 700: each walks
# only the new objects, so rarer passes cost about the same in total but stall less often
THRESHOLDS = (20_000, 20, 20)
DEFAULT_THRESHOLDS = (700, 10, 10)


def configure(mode: Literal["on", "off"]) -> None:
    """Set the collector's thresholds for ``mode`` (once, at the worker's start)."""
    gc.set_threshold(*(THRESHOLDS if mode == "on" else DEFAULT_THRESHOLDS))


def settle(mode: Literal["on", "off"]) -> None:
    """Collect the young generations and freeze every object that is left (``on``)."""
    if mode != "on":
        return
    gc.collect(1)
    gc.freeze()


def status() -> dict[str, Any]:
    """The collector's state for /status: objects frozen, passes per generation."""
    return {
        "gc_frozen": gc.get_freeze_count(),
        "gc_collections": [s["collections"] for s in gc.get_stats()],
        "gc_threshold": list(gc.get_threshold()),
    }
