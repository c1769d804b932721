"""Artifacts of an uplift model on the held-out table: Qini curves, metrics, uplift deciles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from training.data.snapshot import Snapshot
from training.uplift.metrics import arm_rows, evaluate, qini_curve
from training.uplift.model import UpliftModel
from training.uplift.table import expected_column, table_arms

CURVE_POINTS = 101


def _on_grid(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The curve at CURVE_POINTS shares of the customers (linear between its steps)."""
    share = np.linspace(0.0, 1.0, CURVE_POINTS)
    return share, np.interp(share * x[-1], x, q)


def qini_curves(model: UpliftModel, snapshot: Snapshot) -> pd.DataFrame:
    """Per arm and ranking (model, propensity, random): incremental responders by share of
    the held-out customers targeted, best-ranked first."""
    x_all = model.matrix(snapshot.frame)
    parts = []
    for arm in table_arms(snapshot.frame.columns):
        rows, t, y = arm_rows(snapshot, arm)
        if not len(t) or t.min() == t.max():
            continue
        rankings = {
            "uplift model": model.uplift(arm, x_all[rows]),
            "propensity": snapshot.frame[expected_column(arm)].to_numpy(dtype="float64")[rows],
        }
        end = None
        for name, score in rankings.items():
            if np.isnan(score).all():
                continue
            score = np.where(np.isnan(score), np.nanmin(score) - 1.0, score)
            share, q = _on_grid(*qini_curve(y, t, score))
            end = q[-1]
            parts.append(pd.DataFrame({"arm": arm, "ranking": name, "share": share, "qini": q}))
        if end is not None:
            share = np.linspace(0.0, 1.0, CURVE_POINTS)
            parts.append(
                pd.DataFrame({"arm": arm, "ranking": "random", "share": share, "qini": share * end})
            )
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["arm", "ranking", "share", "qini"])
    )


def uplift_deciles(model: UpliftModel, snapshot: Snapshot, n_bins: int = 10) -> pd.DataFrame:
    """Per arm and decile of predicted uplift (1 = highest): sizes, response rates of both
    groups, the observed uplift and the mean predicted one: calibration at a glance."""
    x_all = model.matrix(snapshot.frame)
    rows_out = []
    for arm in model.boosters_:
        if arm not in table_arms(snapshot.frame.columns):
            continue
        rows, t, y = arm_rows(snapshot, arm)
        pred = model.uplift(arm, x_all[rows])
        rank = np.argsort(np.argsort(-pred, kind="stable"), kind="stable")
        decile = 1 + (rank * n_bins) // max(len(pred), 1)
        for d in range(1, n_bins + 1):
            m = decile == d
            tr, co = m & (t == 1), m & (t == 0)
            rate_t = float(y[tr].mean()) if tr.any() else math.nan
            rate_c = float(y[co].mean()) if co.any() else math.nan
            rows_out.append(
                {
                    "arm": arm,
                    "decile": d,
                    "treated": int(tr.sum()),
                    "control": int(co.sum()),
                    "response_rate_treated": rate_t,
                    "response_rate_control": rate_c,
                    "observed_uplift": rate_t - rate_c,
                    "mean_predicted_uplift": float(pred[m].mean()) if m.any() else math.nan,
                }
            )
    return pd.DataFrame(rows_out)


def metrics_table(model: UpliftModel, snapshot: Snapshot) -> pd.DataFrame:
    """One row per arm: the evaluate() figures side by side, and why an arm was skipped."""
    metrics = evaluate(model, snapshot)
    names = ("n_treated", "n_control", "response_rate_treated", "response_rate_control", "ate",
             "mean_uplift", "qini", "qini_propensity", "auuc", "auuc_propensity")  # fmt: skip
    rows = []
    for arm in table_arms(snapshot.frame.columns):
        row: dict[str, object] = {"arm": arm}
        row.update({n: metrics.get(f"{n}__{arm}", math.nan) for n in names})
        row["skipped"] = model.skipped_.get(arm, "")
        rows.append(row)
    return pd.DataFrame(rows)


def write_artifacts(model: UpliftModel, snapshot: Snapshot, out_dir: Path) -> list[Path]:
    """``qini_curves.png`` / ``.csv``, ``uplift_metrics.csv`` and ``uplift_deciles.csv``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "curves_png": out_dir / "qini_curves.png",
        "curves": out_dir / "qini_curves.csv",
        "metrics": out_dir / "uplift_metrics.csv",
        "deciles": out_dir / "uplift_deciles.csv",
    }
    curves = qini_curves(model, snapshot)
    curves.to_csv(paths["curves"], index=False)
    table = metrics_table(model, snapshot)
    table.to_csv(paths["metrics"], index=False)
    uplift_deciles(model, snapshot).to_csv(paths["deciles"], index=False)

    arms = list(dict.fromkeys(curves["arm"])) or ["(none)"]
    cols = min(3, len(arms))
    n_rows = math.ceil(len(arms) / cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.5 * cols, 3.6 * n_rows), squeeze=False)
    styles = {"uplift model": ("tab:blue", "-"), "propensity": ("tab:orange", "-"),
              "random": ("grey", "--")}  # fmt: skip
    titles = {
        str(r["arm"]): f"{r['arm']}: Qini {r['qini']:.3f} (propensity {r['qini_propensity']:.3f})"
        for r in table.to_dict("records")
    }
    for ax, arm in zip(axes.flat, arms, strict=False):
        for name, part in curves[curves["arm"] == arm].groupby("ranking", sort=False):
            colour, line = styles[str(name)]
            ax.plot(part["share"], part["qini"], color=colour, linestyle=line, label=str(name))
        ax.set_title(titles.get(arm, arm), fontsize=9)
        ax.set_xlabel("share of held-out customers targeted")
        ax.set_ylabel("incremental responders")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(arms) :]:
        ax.set_visible(False)
    fig.suptitle("Qini curves on held-out customers: ranking by uplift vs by propensity")
    fig.tight_layout()
    fig.savefig(paths["curves_png"], dpi=110)
    plt.close(fig)
    return list(paths.values())
