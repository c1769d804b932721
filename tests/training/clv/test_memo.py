"""The interval memo hands back only the quantiles of the very history asked for."""

from __future__ import annotations

import numpy as np

from training.clv.memo import Memo

CONTEXT = ("bg", "gg", 365.25, 200, 0)


def test_a_key_shared_by_two_histories_is_a_miss_never_the_other_interval() -> None:
    memo = Memo()
    keys = np.array([7, 3, 7], dtype=np.uint64)  # the third collides with the first
    hist = np.array([[1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 5.0, 0.0], [9.0, 9.0, 9.0, 1.0]])
    q = np.arange(12.0).reshape(3, 4)
    memo.add(CONTEXT, keys, hist, q)
    assert len(memo) == 2  # the repeated key keeps its first history
    found, known = memo.lookup(CONTEXT, keys, hist)
    assert found.tolist() == [True, True, False]
    np.testing.assert_array_equal(known, q[:2])
    # the same histories in another context (other parameters or draws): not held
    assert not memo.lookup(("other", *CONTEXT[1:]), keys, hist)[0].any()
    # adding the collided history again changes nothing; a new key is kept in order
    memo.add(
        CONTEXT,
        np.array([7, 5], dtype=np.uint64),
        hist[[2, 1]] + [[0, 0, 0, 0], [1, 0, 0, 0]],
        q[:2],
    )
    assert len(memo) == 3
    found, known = memo.lookup(
        CONTEXT,
        np.array([5, 7, 4], dtype=np.uint64),
        np.array([[1.0, 0.0, 5.0, 0.0], hist[0], hist[0]]),
    )
    assert found.tolist() == [True, True, False]
    np.testing.assert_array_equal(known, [q[1], q[0]])
