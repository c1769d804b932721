"""The worker's garbage collector: the long-lived heap frozen out of full passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from serving import heap


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_moves_what_exists_out_of_every_collection() -> None:
    gc.unfreeze()
    long_lived = [(i, [i]) for i in range(50_000)]  # tracked containers, like prepared answers
    assert any(obj is long_lived for obj in gc.get_objects())
    heap.settle("on")
    assert gc.get_freeze_count() > len(long_lived)
    assert not any(obj is long_lived for obj in gc.get_objects())  # no pass walks it
    young = [[1]]
    assert any(obj is young for obj in gc.get_objects())  # what comes later is collected


def test_frozen_objects_are_still_freed_when_dropped() -> None:
    gc.unfreeze()
    import weakref

    class Store:
        pass

    store = Store()
    gone = weakref.ref(store)
    heap.settle("on")
    del store
    assert gone() is None  # reference counting frees it: an old store is not kept


def test_off_freezes_nothing_and_keeps_cpythons_thresholds() -> None:
    gc.unfreeze()
    heap.configure("off")
    heap.settle("off")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == heap.DEFAULT_THRESHOLDS
    heap.configure("on")
    assert gc.get_threshold() == heap.THRESHOLDS
    assert heap.status()["gc_threshold"] == list(heap.THRESHOLDS)
