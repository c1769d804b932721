"""The segments run's cell artifacts: customers and value per (value tier, potential level)
with each cell's strategy, as a table and a heat map, and the three-dimensional counts.

The segments run comes before (and without) cintel-potential, so the potential here is a
quantile model fitted on the evaluation snapshot with cintel-potential's default settings
(``training.potential.fit``); too few customers for it leaves the potential ``unknown``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.data.snapshot import Snapshot
from training.economics.cell_table import cell_summary
from training.economics.cells import potential_cuts, potential_levels, potential_score
from training.economics.cells_config import LEVELS, TIERS, UNKNOWN, CellsConfig

VALUES = ("margin_12m", "net_contribution_12m", "potential_headroom")


def potential_of(snapshot: Snapshot) -> pd.DataFrame | None:
    """potential_value_12m, share_of_wallet, potential_headroom per snapshot row, or None."""
    from training import potential

    try:
        model = potential.fit(snapshot)
    except ValueError:
        return None
    return model.predict_frame(snapshot.frame).reset_index(drop=True)


def levels_of(pred: pd.DataFrame | None, n: int, config: CellsConfig) -> np.ndarray:
    """The potential level of each row (``unknown`` throughout without a potential)."""
    if pred is None:
        return np.full(n, UNKNOWN, dtype=object)
    score = potential_score(
        pred["potential_headroom"].to_numpy(), pred["share_of_wallet"].to_numpy(), config.measure
    )
    return potential_levels(score, potential_cuts(score, config), config.measure)


def write_cells(
    values: pd.DataFrame, snapshot: Snapshot, out_dir: Path, config: CellsConfig | None = None
) -> list[Path]:
    """``value_potential_cells.csv``, ``cells_3d.csv`` and ``value_potential_heatmap.png``
    from ``values`` (value_tier, segment, margin_12m, net_contribution_12m per snapshot row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = config or CellsConfig()
    pred = potential_of(snapshot)
    level = levels_of(pred, len(values), config)
    headroom = np.zeros(len(values)) if pred is None else pred["potential_headroom"].to_numpy()
    sums = {
        "margin_12m": values["margin_12m"].to_numpy(),
        "net_contribution_12m": values["net_contribution_12m"].to_numpy(),
        "potential_headroom": headroom,
    }
    tier = values["value_tier"].to_numpy(dtype=object)
    table = cell_summary(tier, level, sums, config)
    out_dir = Path(out_dir)
    paths = [
        out_dir / "value_potential_cells.csv",
        out_dir / "cells_3d.csv",
        out_dir / "value_potential_heatmap.png",
    ]
    table.to_csv(paths[0], index=False)
    three = pd.DataFrame(
        {"value_tier": tier, "potential_level": level, "segment": values["segment"]}
    )
    three.value_counts().rename("customers").reset_index().sort_values(
        ["value_tier", "potential_level", "segment"]
    ).to_csv(paths[1], index=False)

    cols = [*LEVELS, UNKNOWN] if (level == UNKNOWN).any() else list(LEVELS)
    grid = table.set_index(["value_tier", "potential_level"])
    records = grid.to_dict("index")
    counts = np.array([[records[(t, c)]["customers"] for c in cols] for t in TIERS], float)
    fig, ax = plt.subplots(figsize=(3.0 + 2.2 * len(cols), 5.5))
    image = ax.imshow(counts, cmap="Blues", aspect="auto")
    for i, t in enumerate(TIERS):
        for j, c in enumerate(cols):
            row = records[(t, c)]
            strategy = str(row["strategy"]).replace("_", " ")
            text = f"{int(row['customers']):,}\nmargin {row['margin_12m']:,.0f}\n{strategy}"
            dark = counts[i, j] > counts.max() / 2
            ax.text(
                j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black"
            )
    ax.set_xticks(range(len(cols)), cols)
    ax.set_xlabel("potential (headroom or share of wallet, cells.yaml)")
    ax.set_yticks(range(len(TIERS)), list(TIERS))
    fig.colorbar(image, ax=ax, label="customers")
    ax.set_title("Current value x potential: customers, 12-month margin and strategy")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return paths
