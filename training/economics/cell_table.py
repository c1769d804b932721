"""The store's cell columns for many customers at once, and the (value, potential) summary.

``cell_table`` computes ``CELL_COLUMNS`` from a scored store (value tier, segment id,
stored lifecycle stage, potential) and the preferred channels, and returns
what a later single-customer update needs to place a customer the same way (the potential
cuts and the micro-segment of every unmerged cell), which the store's meta keeps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.economics.cells import (
    cells,
    fine_keys,
    merged_of,
    micro_table,
    potential_cuts,
    potential_levels,
    potential_score,
    stage_slug,
)
from training.economics.cells_config import LEVELS, TIERS, UNKNOWN, CellsConfig

# the store columns the cells are computed from
CELL_INPUTS = ("value_tier", "segment_id", "potential_headroom", "share_of_wallet",
               "lifecycle_stage")  # fmt: skip
Columns = pd.DataFrame | Mapping[str, Any]  # a frame, or name -> the rows' values


def _column(cols: Columns, n: int, name: str, dtype: str = "float64") -> np.ndarray:
    if name not in cols:
        return np.full(n, np.nan if dtype == "float64" else None, dtype=dtype)
    if isinstance(cols, pd.DataFrame):
        return cols[name].to_numpy(dtype=dtype)
    return np.asarray(cols[name], dtype=dtype)


def cell_table(
    frame: pd.DataFrame,
    channel: np.ndarray,
    config: CellsConfig,
    state: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(``CELL_COLUMNS`` for the rows of ``frame``, the state a publish keeps). With
    ``state`` (a publish's), the customers are placed by its cuts and micro-segments
    instead of their own counts (the event path, one customer at a time)."""
    columns, new_state = cell_columns(frame, len(frame), channel, config, state)
    return pd.DataFrame(columns), new_state


def cell_columns(
    cols: Columns,
    n: int,
    channel: np.ndarray,
    config: CellsConfig,
    state: Mapping[str, Any] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``cell_table`` on columns (a frame or name -> values of ``n`` rows), without
    building frames: what the event path places a few customers with."""
    tier = _column(cols, n, "value_tier", "object")
    segment = _column(cols, n, "segment_id", "object")
    score = potential_score(
        _column(cols, n, "potential_headroom"),
        _column(cols, n, "share_of_wallet"),
        config.measure,
    )
    cuts = _cuts_from_json(state["potential_cuts"]) if state else potential_cuts(score, config)
    level = potential_levels(score, cuts, config.measure)
    cell, strategy = cells(tier, segment, level, config)
    # the stored stage (recency rules): a new churn champion does not move micro-segments
    stage = _column(cols, n, "lifecycle_stage", "object")
    dims = [segment, tier, stage_slug(stage), np.asarray(channel, dtype=object)]
    if state:
        known, published = state["micro"], frozenset(state["micro_sizes"])
        fine = fine_keys(dims)
        micro = np.array([merged_of(f, known, published) for f in fine], dtype=object)
        new_state = dict(state)
    else:
        micro, _, fine_map, sizes = micro_table(dims, config.min_size)
        new_state = {
            "potential_cuts": _cuts_to_json(cuts),
            "micro": fine_map,
            "micro_sizes": sizes,
        }
    out = {
        "potential_level": level,
        "cell": cell,
        "cell_strategy": strategy,
        "micro_segment": micro,
    }
    return out, new_state


def _cuts_to_json(cuts: Sequence[float]) -> list[float | None]:
    """The cuts as strict JSON (the store meta is read by orjson): a level nobody reached
    (an infinite cut) as null."""
    return [float(c) if math.isfinite(c) else None for c in cuts]


def _cuts_from_json(cuts: Sequence[float | None]) -> tuple[float, ...]:
    return tuple(float("inf") if c is None else float(c) for c in cuts)


def cell_summary(
    tier: np.ndarray, level: np.ndarray, values: Mapping[str, np.ndarray], config: CellsConfig
) -> pd.DataFrame:
    """One row per (value tier, potential level), every one listed: customers, the sum of
    each of ``values`` (e.g. margin_12m) and the cell's strategy."""
    frame = pd.DataFrame({"value_tier": tier, "potential_level": level, **values})
    grouped = frame.groupby(["value_tier", "potential_level"], observed=True)
    table = grouped.size().rename("customers").to_frame().join(grouped[list(values)].sum())
    index = pd.MultiIndex.from_product([TIERS, (*LEVELS, UNKNOWN)])
    table = table.reindex(index, fill_value=0).rename_axis(["value_tier", "potential_level"])
    table = table.reset_index()
    table["customers"] = table["customers"].astype(int)
    table["strategy"] = [
        config.strategy(t, v)
        for t, v in zip(table["value_tier"], table["potential_level"], strict=True)
    ]
    return table
