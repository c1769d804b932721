"""Each row of the reliability suite against its target from issue 12 (slow: ~12 min).

The measurements are black-box (bench/reliability.py drives real `cintel` processes on
127.0.0.1); these tests only hold each figure to its target, so a failure names the
figure and what the harness saw.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.reliability import ROW_KEYS

pytestmark = [pytest.mark.slow, pytest.mark.reliability]


@pytest.mark.parametrize("key", ROW_KEYS)
def test_row_meets_its_target(key: str, reliability_rows: dict[str, dict[str, Any]]) -> None:
    if key not in reliability_rows:
        pytest.fail(f"{key}: not measured in this run (see --only)")
    row = reliability_rows[key]
    if row.get("not_run"):
        pytest.skip(f"{key}: left out of this run by --only")
    detail = json.dumps(row["detail"], indent=1, default=str)[:3000]
    assert row["passed"], f"{row['check']}: {row['figure']}, target {row['target']}\n{detail}"
