"""The cell and micro-segment columns of a publish (``training.economics.cells``).

``with_cells`` adds ``CELL_COLUMNS`` to the scored store and returns what the store's meta
keeps under ``cells`` (the settings, the potential cuts, the micro-segment of every
unmerged cell and each micro-segment's size), so the event path places an updated
customer the way this publish did. ``micro_segment_notes`` warns about offers whose
eligibility names a micro-segment this publish does not have (merged or empty): unlike a
retired segment id this is no error, since merging follows the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from serving.catalogue import Catalogue
from training.economics.cell_table import CELL_INPUTS, cell_columns, cell_table
from training.economics.cells import preferred_channel
from training.economics.cells_config import CellsConfig, cells_from_json, cells_to_json


def with_cells(
    profiles: pd.DataFrame, features: pd.DataFrame, config: CellsConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``profiles`` plus the cell columns (rows aligned with ``features``), and the meta."""
    columns, meta = publish_cells(profiles, preferred_channel(features), config)
    out = pd.concat([profiles.reset_index(drop=True), columns], axis=1)
    return out, meta


def publish_cells(
    profiles: pd.DataFrame, channel: np.ndarray, config: CellsConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cell columns of every row of ``profiles`` (``channel``: each row's preferred
    channel) and the meta the store keeps; the cuts are over all of ``profiles``."""
    columns, state = cell_table(profiles, channel, config)
    return columns, {"config": cells_to_json(config), **state}


def cells_of_rows(
    rows: list[dict[str, Any]],
    features: pd.DataFrame | Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """Event-path rows (``features``, a frame or name -> array, in the same order) with
    the cell columns, placed by the publish's cuts and micro-segments (``meta``: the
    store meta's ``cells``); rows of a store published without cells are left as they
    are. No frame is built: the few columns the cells read are taken from the rows."""
    if not meta or not rows:
        return rows
    n = len(rows)
    cols = {c: [row.get(c) for row in rows] for c in CELL_INPUTS if c in rows[0]}
    columns, _ = cell_columns(
        cols, n, preferred_channel(features, n), cells_from_json(meta["config"]), meta
    )
    lists = {str(k): v.tolist() for k, v in columns.items()}
    for i, row in enumerate(rows):
        row.update({k: v[i] for k, v in lists.items()})
    return rows


def micro_segment_notes(catalogue: Catalogue, sizes: Mapping[str, int]) -> list[str]:
    """One warning per offer naming micro-segments no customer of this publish is in."""
    notes = []
    for offer in catalogue.offers:
        named = sorted(offer.eligible.micro_segments or ())
        absent = [m for m in named if m not in sizes]
        if absent:
            notes.append(
                f"offer '{offer.id}' names micro-segment(s) {', '.join(absent)} that no "
                "customer is in after merging (see the store meta's cells.micro_sizes)"
            )
    return notes
