"""The CLV interval's memo: quantiles a batch has drawn, looked up by exact history."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass
class _Drawn:
    """Histories whose quantiles one batch has drawn, sorted by their lookup key."""

    keys: np.ndarray  # uint64, unique, sorted
    hist: np.ndarray  # (histories, 4) float64: x, t_x, T and fixed (0 or 1)
    q: np.ndarray  # (histories, 4) the quantiles


class Memo:
    """Quantiles already drawn in one batch, per (parameters, horizon, draws, seed), by
    exact history (x, t_x, T, fixed): a batch's chunks (and its threads) share one.

    Held in numpy arrays sorted by a 64-bit hash of the history, so looking up a chunk's
    histories is a ``searchsorted`` plus a comparison of the values themselves: a hash
    collision is a miss (drawn again, the same numbers), never another history's interval.
    """

    def __init__(self) -> None:
        self._drawn: dict[tuple[object, ...], _Drawn] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Histories held, over every context."""
        return sum(len(d.keys) for d in self._drawn.values())

    def lookup(
        self, context: tuple[object, ...], keys: np.ndarray, hist: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(found, positions): which of the histories (``hist`` rows, ``keys`` their
        lookup keys) are held and where; ``quantiles(context, positions)`` reads them."""
        with self._lock:
            drawn = self._drawn.get(context)
            if drawn is None or not len(drawn.keys):
                return np.zeros(len(keys), dtype=bool), np.zeros((0, 4))
            pos = np.minimum(np.searchsorted(drawn.keys, keys), len(drawn.keys) - 1)
            found = (drawn.keys[pos] == keys) & (drawn.hist[pos] == hist).all(axis=1)
            return found, drawn.q[pos[found]]

    def add(
        self, context: tuple[object, ...], keys: np.ndarray, hist: np.ndarray, q: np.ndarray
    ) -> None:
        """Hold the quantiles ``q`` of the histories (a key already held, or repeated,
        keeps its first history: the others are drawn again when met)."""
        keys, first = np.unique(keys, return_index=True)
        hist, q = hist[first], q[first]
        with self._lock:
            drawn = self._drawn.get(context)
            if drawn is None:
                self._drawn[context] = _Drawn(keys, hist, q)
                return
            at = np.searchsorted(drawn.keys, keys)
            new = (at == len(drawn.keys)) | (
                drawn.keys[np.minimum(at, len(drawn.keys) - 1)] != keys
            )
            at, keys, hist, q = at[new], keys[new], hist[new], q[new]
            self._drawn[context] = _Drawn(
                np.insert(drawn.keys, at, keys),
                np.insert(drawn.hist, at, hist, axis=0),
                np.insert(drawn.q, at, q, axis=0),
            )
