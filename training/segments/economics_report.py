"""The segments run's economics artifacts: lifecycle transitions between two snapshots and
the concentration of margin and net contribution (Lorenz, Gini, top 20 %) by tier and segment.

Both come from the transactions (the pipeline hands them to the segments report). The
lifecycle here uses the recency rules only (no churn score is at hand in a training run);
net contribution prices the data folder's costs.yaml when ``cintel train`` found one, else
every cost is 0 (margin − returns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.data.features import NS_PER_DAY
from training.data.snapshot import Snapshot
from training.economics.cells_config import CellsConfig
from training.economics.concentration import concentration_table, lorenz
from training.economics.costs import Costs
from training.economics.lifecycle import lifecycle, transitions
from training.economics.pnl import customer_pnl
from training.segments import tiers
from training.segments.cells_report import write_cells
from training.segments.config import LOW_ACTIVITY
from training.segments.model import SegmentsModel

MEASURES = ("margin_12m", "net_contribution_12m")


def _signup(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Sign-up dates back from the snapshot's tenure (as_of − tenure_days)."""
    ns = as_of.value - frame["tenure_days"].to_numpy(dtype="float64") * NS_PER_DAY
    dates = pd.to_datetime(np.where(np.isnan(ns), np.nan, ns), unit="ns")
    return pd.Series(dates, index=frame["customer_id"].to_numpy())


def lifecycle_transitions(snapshot: Snapshot, transactions: pd.DataFrame) -> pd.DataFrame:
    """Stages one horizon before the snapshot (rows) against stages at it (columns)."""
    frame, as_of = snapshot.frame, snapshot.as_of
    before_as_of = as_of - pd.Timedelta(days=snapshot.horizon_days)
    signup = _signup(frame, as_of)
    ids = pd.Index(frame["customer_id"].to_numpy())
    after = lifecycle(transactions, signup, ids, as_of)["lifecycle_stage"]
    known = ids[(signup < before_as_of).to_numpy()]
    before = lifecycle(transactions, signup, known, before_as_of)["lifecycle_stage"]
    return transitions(before, after)


def value_frame(
    model: SegmentsModel, snapshot: Snapshot, transactions: pd.DataFrame, costs: Costs
) -> pd.DataFrame:
    """Per customer of the snapshot: tier, segment and the 12-month P&L measures."""
    frame = snapshot.frame
    ids = pd.Index(frame["customer_id"].to_numpy())
    pnl = customer_pnl(transactions, pd.DataFrame({"customer_id": ids}), ids, snapshot.as_of, costs)
    names = np.array([*model.names, LOW_ACTIVITY], dtype=object)
    return pd.DataFrame(
        {
            "value_tier": np.asarray(tiers.assign(frame, model.tier_cuts), dtype=object),
            "segment": names[model.assign(frame)],
            **{m: pnl[m].to_numpy() for m in MEASURES},
        }
    )


def write_economics(
    model: SegmentsModel,
    snapshot: Snapshot,
    out_dir: Path,
    transactions: pd.DataFrame,
    costs: Costs | None = None,
    cells: CellsConfig | None = None,
) -> list[Path]:
    """``lifecycle_transitions.csv``, ``concentration.csv`` and ``lorenz.png``, and the
    value x potential cells (``cells_report.write_cells``, strategies from ``cells``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    paths = [
        out_dir / "lifecycle_transitions.csv",
        out_dir / "concentration.csv",
        out_dir / "lorenz.png",
    ]
    lifecycle_transitions(snapshot, transactions).rename_axis(
        index="from (one horizon before)", columns="to (at the snapshot)"
    ).to_csv(paths[0])
    values = value_frame(model, snapshot, transactions, costs or Costs())
    concentration_table(values, MEASURES, ["value_tier", "segment"]).to_csv(paths[1], index=False)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, measure in zip(axes, MEASURES, strict=True):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="equal")
        x, y = lorenz(values[measure].to_numpy())
        ax.plot(x, y, color="black", lw=2, label="all customers")
        for tier, part in values.groupby("value_tier", sort=True):
            x, y = lorenz(part[measure].to_numpy())
            ax.plot(x, y, lw=1, label=str(tier))
        ax.axvline(0.8, color="grey", lw=0.5)
        ax.set_title(f"Lorenz curve of {measure}")
        ax.set_xlabel("share of customers (lowest value first)")
        ax.set_ylabel("share of the total")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return [*paths, *write_cells(values, snapshot, out_dir, cells)]
