"""Artifacts of a segments model: profile, usage, identity and tier tables, heat map, RFM plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.data.snapshot import Snapshot
from training.economics.cells_config import CellsConfig
from training.economics.costs import Costs
from training.segments import rfm, tiers
from training.segments.config import LOW_ACTIVITY
from training.segments.economics_report import write_economics
from training.segments.model import SegmentsModel


def segment_profiles(model: SegmentsModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Segment × feature means and size (low-activity customers as the last row)."""
    seg = model.assign(frame)
    raw = pd.DataFrame(frame[model.features].to_numpy(dtype="float64"), columns=model.features)
    names = np.array([*model.names, LOW_ACTIVITY], dtype=object)
    raw = raw.assign(segment=pd.Categorical(names[seg], categories=list(names)))
    grouped = raw.groupby("segment", observed=False)
    table = grouped[model.features].mean()
    table.insert(0, "share", grouped.size() / max(len(frame), 1))
    table.insert(0, "size", grouped.size())
    return table.reset_index()


def identity_table(model: SegmentsModel) -> pd.DataFrame:
    """Per segment id: display name, whether it was kept from the previous model or is new
    (with the distance between the matched centres), and the retired ids."""
    kept = [d == d for d in model.match_distance]  # NaN: no previous centre matched
    rows: list[dict[str, object]] = [
        {"segment_id": i, "segment": n, "status": "kept" if k else "new", "match_distance": d}
        for i, n, k, d in zip(model.ids, model.names, kept, model.match_distance, strict=True)
    ]
    rows += [
        {"segment_id": i, "segment": None, "status": "retired", "match_distance": np.nan}
        for i in model.retired_ids
    ]
    return pd.DataFrame(rows, columns=["segment_id", "segment", "status", "match_distance"])


def write_artifacts(
    model: SegmentsModel,
    snapshot: Snapshot,
    out_dir: Path,
    transactions: pd.DataFrame | None = None,
    costs: Costs | None = None,
    cells: CellsConfig | None = None,
) -> list[Path]:
    """CSV tables and PNG plots describing the model on ``snapshot``; returns the paths.
    With ``transactions``, also the lifecycle transitions and the value concentration
    (``economics_report.write_economics``), with the value x potential cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = snapshot.frame
    profiles = segment_profiles(model, frame)
    tier_table = tiers.tier_summary(frame, tiers.assign(frame, model.tier_cuts))
    scores = rfm.score(frame, model.rfm_edges, model.config.monetary_column)
    paths = {
        "profiles": out_dir / "segment_profiles.csv",
        "usage": out_dir / "segment_usage_thresholds.csv",
        "identity": out_dir / "segment_identity.csv",
        "tiers": out_dir / "tier_summary.csv",
        "heatmap": out_dir / "segment_profiles_heatmap.png",
        "rfm": out_dir / "rfm_distribution.png",
    }
    profiles.to_csv(paths["profiles"], index=False)
    model.usage.to_csv(paths["usage"], index=False)
    identity_table(model).to_csv(paths["identity"], index=False)
    tier_table.to_csv(paths["tiers"], index=False)

    segs = profiles[profiles["segment"] != LOW_ACTIVITY]
    means = segs[model.features].to_numpy(dtype="float64")
    overall = np.where(model.scale_mean > 0, model.scale_mean, np.nan)
    ratio = means / overall
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(model.features), 1.5 + 0.5 * len(segs)))
    image = ax.imshow(np.log2(np.clip(ratio, 1 / 8, 8)), cmap="RdBu_r", vmin=-2, vmax=2)
    ax.set_xticks(range(len(model.features)))
    ax.set_xticklabels([f.split("__")[-1] for f in model.features], rotation=60, ha="right")
    ax.set_yticks(range(len(segs)))
    ax.set_yticklabels([f"{s} (n={n})" for s, n in zip(segs["segment"], segs["size"], strict=True)])
    for (i, j), v in np.ndenumerate(means):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="log2(segment mean / overall mean)")
    ax.set_title("Segment profiles\n(cell: mean share; colour: vs all active customers)")
    fig.tight_layout()
    fig.savefig(paths["heatmap"], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 4, figsize=(15, 3.5))
    for ax, col, title in zip(
        axes[:3], ("rfm_r", "rfm_f", "rfm_m"), ("Recency", "Frequency", "Monetary"), strict=True
    ):
        counts = scores[col].value_counts().reindex(range(1, 6), fill_value=0)
        ax.bar(counts.index, counts.to_numpy(), color="tab:blue")
        ax.set_title(f"{title} score")
        ax.set_xlabel("score")
    axes[0].set_ylabel("customers")
    grid = pd.crosstab(scores["rfm_r"], scores["rfm_f"]).reindex(
        index=range(1, 6), columns=range(1, 6), fill_value=0
    )
    image = axes[3].imshow(grid.to_numpy(), origin="lower", extent=(0.5, 5.5, 0.5, 5.5))
    axes[3].set_xlabel("F score")
    axes[3].set_ylabel("R score")
    axes[3].set_title("Customers by R × F")
    fig.colorbar(image, ax=axes[3])
    fig.tight_layout()
    fig.savefig(paths["rfm"], dpi=110)
    plt.close(fig)
    extra = (
        []
        if transactions is None
        else write_economics(model, snapshot, out_dir, transactions, costs, cells)
    )
    return [*paths.values(), *extra]
