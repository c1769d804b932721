"""Control-group assignment: a deterministic hash of campaign and customer (issue 14 spec).

A customer is in the control group of a campaign when ``u < holdout`` with
``u = blake2b(f"{campaign_id}\\x1f{customer_id}", digest_size=8) / 2**64``: the same
customer stays in the same group for that campaign across requests, channels, outbound
lists, workers and restarts. Pure, no I/O.

The spec puts one copy of this function in the code base; until the outcome join
(``training/data/outcomes.py``) is merged beside it, this is serving's copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

import numpy as np

SEPARATOR = "\x1f"
_SCALE = 2.0**64


def assignment_u(customer_id: object, campaign_id: str) -> float:
    """The customer's uniform draw in [0, 1) for ``campaign_id``."""
    digest = blake2b(f"{campaign_id}{SEPARATOR}{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def in_control(customer_id: object, campaign_id: str, holdout: float) -> bool:
    """True when the customer is held out of the campaign (``holdout`` in [0, 1))."""
    return holdout > 0 and assignment_u(customer_id, campaign_id) < holdout


def assignment_us(customer_ids: Iterable[object], campaign_id: str) -> np.ndarray:
    """``assignment_u`` for a column of ids (about 1 µs per id)."""
    prefix = f"{campaign_id}{SEPARATOR}"
    draws = np.fromiter(
        (
            int.from_bytes(blake2b(f"{prefix}{c}".encode(), digest_size=8).digest(), "big")
            for c in customer_ids
        ),
        dtype=np.uint64,
    )
    return draws / np.float64(_SCALE)


def control_mask(customer_ids: Iterable[object], campaign_id: str, holdout: float) -> np.ndarray:
    """Vectorised ``in_control``: a boolean array, True for the control group."""
    us = assignment_us(customer_ids, campaign_id)
    if holdout <= 0:
        return np.zeros(len(us), dtype=bool)
    return np.asarray(us < holdout)
