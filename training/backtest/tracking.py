"""The backtest's MLflow run in experiment ``cintel-backtests`` (no model is logged)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import mlflow

from training.backtest.report import overall
from training.backtest.run import BacktestResult
from training.mlops.tracking import configure_tracking, get_or_create_experiment

EXPERIMENT = "cintel-backtests"


def metric_key(task: str, metric: str, method: str) -> str:
    """``churn.roc_auc.cintel``: the names MLflow allows, the same run after run."""
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", f"{task}.{metric}.{method}")


def _metrics(frame: Any, column: str = "value") -> dict[str, float]:
    return {
        metric_key(r.task, r.metric, r.method): float(getattr(r, column))
        for r in frame.itertuples(index=False)
        if getattr(r, column) == getattr(r, column)  # not NaN
    }


def log_backtest(result: BacktestResult, params: dict[str, Any], out_dir: Path) -> str:
    """One run: parameters and windows, every figure (the mean over cutoffs, plus ``.std``
    and per-cutoff values under ``by_cutoff/`` with the cutoff's index as step), and the
    output folder as artifacts. Returns the run id."""
    configure_tracking()
    experiment_id = get_or_create_experiment(EXPERIMENT)
    first, last = result.cutoffs[0].windows.cutoff, result.cutoffs[-1].windows.cutoff
    name = f"backtest@{first:%Y-%m-%d}" + (f"..{last:%Y-%m-%d}" if first != last else "")
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tag("cintel.kind", "backtest")
        windows = {}
        for i, cut in enumerate(result.cutoffs):
            for key, value in cut.windows.params().items():
                windows[f"cutoff_{i}.{key}"] = value
            windows[f"cutoff_{i}.alive_model"] = cut.alive_model
        mlflow.log_params({**params, **windows, "n_cutoffs": len(result.cutoffs)})
        mlflow.log_metrics(_metrics(overall(result)))
        if len(result.cutoffs) > 1:
            std = _metrics(result.summary, "std")
            mlflow.log_metrics({f"{k}.std": v for k, v in std.items()})
            for i, cut in enumerate(result.cutoffs):
                per = {f"by_cutoff/{k}": v for k, v in _metrics(cut.table).items()}
                mlflow.log_metrics(per, step=i)
        mlflow.log_artifacts(str(out_dir), artifact_path="backtest")
        return str(run.info.run_id)
