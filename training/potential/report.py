"""Artifacts of a potential model: potential, spend and share of wallet by decile, and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from training.data.snapshot import Snapshot
from training.deciles import by_decile, write_decile_artifacts
from training.potential.model import SPEND, PotentialModel


def decile_table(model: PotentialModel, snapshot: Snapshot) -> pd.DataFrame:
    """Customers who bought in the year, by decile of potential: means and counts."""
    frame = snapshot.frame[snapshot.frame[SPEND] > 0]
    pred = model.predict_frame(frame).assign(spend_365d=frame[SPEND].to_numpy())
    return by_decile(
        pred,
        "potential_value_12m",
        potential_value_12m=("potential_value_12m", "mean"),
        spend_365d=("spend_365d", "mean"),
        share_of_wallet=("share_of_wallet", "mean"),
        headroom_total=("potential_headroom", "sum"),
    )


def write_artifacts(model: PotentialModel, snapshot: Snapshot, out_dir: Path) -> list[Path]:
    """``potential_deciles.csv`` and ``potential_vs_spend.png``; returns the paths."""

    def draw(ax: Any, table: pd.DataFrame) -> None:
        ax.bar(table["decile"], table["potential_value_12m"], color="tab:gray", label="potential")
        ax.bar(table["decile"], table["spend_365d"], color="tab:blue", label="spend with us")

    return write_decile_artifacts(
        decile_table(model, snapshot), out_dir, "potential_deciles.csv", "potential_vs_spend.png",
        draw, xlabel="decile of potential value", ylabel="mean per customer, last 12 months",
        title="Potential value and spend with us (the gap is the headroom)",
    )  # fmt: skip
