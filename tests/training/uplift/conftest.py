"""One randomized-response data set and the uplift model fitted on it, shared by the tests."""

from __future__ import annotations

import pytest

from training.data.snapshot import Snapshot
from training.uplift import UpliftModel, fit, tables_from_responses

from .synthetic import Synthetic, synthetic


@pytest.fixture(scope="package")
def syn() -> Synthetic:
    return synthetic(4000, seed=0)


@pytest.fixture(scope="package")
def tables(syn: Synthetic) -> tuple[Snapshot, Snapshot]:
    return tables_from_responses(syn.data, syn.responses, decisions=syn.decisions)


@pytest.fixture(scope="package")
def model(tables: tuple[Snapshot, Snapshot]) -> UpliftModel:
    return fit(tables[0])
