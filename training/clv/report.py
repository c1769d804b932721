"""The cintel-clv run's report: the evaluation table, deciles and gains curves as artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from training.clv.metrics import METRICS, MODELS, decile_table, evaluate, gains_curve, predictions
from training.data.snapshot import Snapshot


def write_artifacts(model: Any, snapshot: Snapshot, out_dir: Path) -> list[Path]:
    """clv_deciles.png (calibration), clv_gains.png (lift), clv_metrics.csv, clv_deciles.csv."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = predictions(model, snapshot)
    y = table["actual"].to_numpy()
    metrics = evaluate(model, snapshot)
    rows = [{"model": m, **{k: metrics[f"{k}_{m}"] for k in METRICS}} for m in MODELS]
    paths = [out_dir / "clv_metrics.csv", out_dir / "clv_deciles.csv"]
    pd.DataFrame(rows).to_csv(paths[0], index=False)
    deciles = pd.concat(
        [decile_table(y, table[m].to_numpy()).assign(model=m) for m in MODELS], ignore_index=True
    )
    deciles.to_csv(paths[1], index=False)
    unit = f"future {model.config.target} over {snapshot.horizon_days} days"

    fig, axes = plt.subplots(1, len(MODELS), figsize=(13, 4), sharey=True)
    for ax, m in zip(axes, MODELS, strict=True):
        d = deciles[deciles["model"] == m]
        ax.bar(d["decile"] - 0.2, d["mean_predicted"], width=0.4, label="mean predicted")
        ax.bar(d["decile"] + 0.2, d["mean_actual"], width=0.4, label="mean actual")
        ax.set_title(f"{m}: decile MAPE {metrics[f'decile_mape_{m}']:.2f}")
        ax.set_xlabel("predicted decile")
    axes[0].set_ylabel(unit)
    axes[0].legend()
    fig.tight_layout()
    paths.append(out_dir / "clv_deciles.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 5))
    for m in (*MODELS, "actual"):
        x, g = gains_curve(y, table[m].to_numpy() if m != "actual" else y)
        label = "perfect" if m == "actual" else f"{m} (Gini {metrics[f'normalized_gini_{m}']:.3f})"
        ax.plot(x, g, label=label, linestyle="--" if m == "actual" else "-")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="random")
    ax.set_xlabel("share of customers, ranked by predicted value")
    ax.set_ylabel(f"share of total {unit}")
    ax.legend()
    fig.tight_layout()
    paths.append(out_dir / "clv_gains.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths
