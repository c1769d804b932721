"""Out-of-time evaluation of cintel-clv against BG/NBD × Gamma-Gamma and a naive baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from training.clv.btyd_part import has_history
from training.clv.metrics import decile_table, gains_curve, value_metrics
from training.data.snapshot import Snapshot

MAIN_METRIC = "normalized_gini"
GREATER_IS_BETTER = True
FLOORS = {"normalized_gini": 0.2}
MODELS = ("learned", "btyd", "naive")
METRICS = ("normalized_gini", "spearman", "decile_mape", "mae", "aggregate_error")


def naive_value(frame: pd.DataFrame, horizon_days: int, target: str) -> np.ndarray:
    """Last year's run rate repeated: <target>_365d × H ÷ clip(tenure, H, 365) days."""
    past = frame["margin_365d" if target == "margin" else "spend_365d"].to_numpy("float64")
    tenure = pd.to_numeric(frame["tenure_days"], errors="coerce").to_numpy("float64")
    days = np.clip(np.nan_to_num(tenure, nan=365.0), horizon_days, 365.0)
    return cast(np.ndarray, np.nan_to_num(past) * horizon_days / days)


def predictions(model: Any, snapshot: Snapshot) -> pd.DataFrame:
    """customer_id, actual and the three models' horizon values for the evaluable rows
    (labelled customers with a purchase before as_of: the population BTYD is defined on)."""
    target = model.config.target
    column = f"future_{target}"
    if not snapshot.labelled or column not in snapshot.frame.columns:
        raise ValueError(f"evaluation needs a labelled snapshot with {column}")
    frame = snapshot.frame
    rows = frame.loc[has_history(frame) & frame[column].notna().to_numpy()].reset_index(drop=True)
    if len(rows) < 10:
        raise ValueError(f"evaluation needs at least 10 customers with history, got {len(rows)}")
    pred = model.predict_frame(
        rows[["customer_id", *snapshot.feature_columns]], horizon_days=snapshot.horizon_days
    )
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "actual": rows[column].to_numpy("float64"),
            "learned": pred["learned_clv_horizon"].to_numpy(),
            "btyd": pred["btyd_clv_horizon"].to_numpy(),
            "naive": naive_value(rows, snapshot.horizon_days, target),
        }
    )


def evaluate(model: Any, snapshot: Snapshot) -> dict[str, float]:
    """<metric>_<model> for metric in METRICS and model in MODELS, the chosen model's
    normalized_gini (MAIN_METRIC), bgnbd_loglik, gg_loglik and n_eval_customers."""
    table = predictions(model, snapshot)
    y = table["actual"].to_numpy()
    out: dict[str, float] = {}
    for name in MODELS:
        out.update(value_metrics(y, table[name].to_numpy(), name))
    out[MAIN_METRIC] = out[f"normalized_gini_{model.chosen}"]
    out["bgnbd_loglik"] = model.btyd.bgnbd_loglik
    out["gg_loglik"] = model.btyd.gg_loglik
    out["n_eval_customers"] = float(len(table))
    return out


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
