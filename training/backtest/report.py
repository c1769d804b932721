"""The backtest's files: backtest.csv, the rolling-origin summary, per-cutoff tables and plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.backtest.run import BacktestResult, CutoffResult

METHOD_ORDER = (
    "cintel", "recency", "bgnbd", "mbgnbd", "pareto_nbd", "bgnbd_gg", "naive_run_rate",
    "oracle", "actual",
)  # fmt: skip


def overall(result: BacktestResult) -> pd.DataFrame:
    """task, metric, method, value: the one split's values, or the mean over the splits."""
    if len(result.cutoffs) == 1:
        return result.cutoffs[0].table.copy()
    summary = result.summary
    return summary[["task", "metric", "method", "mean"]].rename(columns={"mean": "value"})


def wide(long: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    """One row per (task, metric), one column per method, in METHOD_ORDER."""
    table = long.pivot_table(
        index=["task", "metric"], columns="method", values=value, sort=False, aggfunc="first"
    )
    methods = [m for m in METHOD_ORDER if m in table.columns]
    return table[methods + [m for m in table.columns if m not in methods]]


def _plots(cut: CutoffResult, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 5))
    for method, part in cut.calibration.groupby("method", sort=False):
        ax.plot(part["mean_predicted"], part["observed"], marker="o", label=str(method))
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set_xlabel(f"predicted P(no purchase in {cut.windows.horizon_days} days)")
    ax.set_ylabel("observed churn rate")
    ax.set_title(f"churn calibration, cutoff {cut.windows.cutoff:%Y-%m-%d}")
    ax.legend()
    fig.tight_layout()
    paths.append(folder / "churn_calibration.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 5))
    p = cut.purchases
    for column in [c for c in p.columns if c not in ("repeat_purchases", "n")]:
        style = "-" if column == "actual" else "--"
        ax.plot(p["repeat_purchases"], p[column], style, marker="o", label=column)
    ax.set_xticks(p["repeat_purchases"], [*map(str, p["repeat_purchases"][:-1]), "7+"])
    ax.set_xlabel("repeat purchases before the cutoff")
    ax.set_ylabel(f"mean purchases in the next {cut.windows.horizon_days} days")
    ax.legend()
    fig.tight_layout()
    paths.append(folder / "purchases_by_frequency.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)

    methods = list(dict.fromkeys(cut.deciles["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.3 * len(methods), 4), sharey=True)
    for ax, method in zip(list(axes) if len(methods) > 1 else [axes], methods, strict=True):
        d = cut.deciles[cut.deciles["method"] == method]
        ax.bar(d["decile"] - 0.2, d["mean_predicted"], width=0.4, label="predicted")
        ax.bar(d["decile"] + 0.2, d["mean_actual"], width=0.4, label="actual")
        ax.set_title(f"{method}: decile MAPE {cut.value('clv', 'decile_mape', method):.3f}")
        ax.set_xlabel("predicted decile")
    fig.axes[0].legend()
    fig.tight_layout()
    paths.append(folder / "clv_deciles.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths


def write_outputs(result: BacktestResult, out_dir: Path) -> list[Path]:
    """backtest.csv (task, metric, method, value), backtest_by_cutoff.csv and, with several
    cutoffs, backtest_summary.csv (mean, std, min, max); per cutoff a folder with the
    calibration, purchases-by-frequency and CLV decile tables and their plots."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "backtest.csv", out_dir / "backtest_by_cutoff.csv"]
    overall(result).to_csv(paths[0], index=False)
    table = result.table
    table[["cutoff", "task", "metric", "method", "value"]].to_csv(paths[1], index=False)
    if len(result.cutoffs) > 1:
        paths.append(out_dir / "backtest_summary.csv")
        result.summary.to_csv(paths[-1], index=False)
    windows = []
    for cut in result.cutoffs:
        folder = out_dir / f"cutoff-{cut.windows.cutoff:%Y-%m-%d}"
        folder.mkdir(exist_ok=True)
        for name, frame in (
            ("churn_calibration.csv", cut.calibration),
            ("purchases_by_frequency.csv", cut.purchases),
            ("clv_deciles.csv", cut.deciles),
        ):
            frame.to_csv(folder / name, index=False)
            paths.append(folder / name)
        paths += _plots(cut, folder)
        windows += [f"cutoff {cut.windows.cutoff:%Y-%m-%d}", *cut.windows.lines()]
        windows += [f"alive model by holdout log-likelihood: {cut.alive_model}", *cut.notes, ""]
    paths.append(out_dir / "windows.txt")
    paths[-1].write_text("\n".join(windows))
    return paths
