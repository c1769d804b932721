"""``cintel backtest``: fit before a cutoff, score every customer at it, compare with the
next H days, beside the baselines.

The cintel models are fitted by their packages' own fit functions through
``training.tasks`` and never logged, registered or promoted. Pure apart from the fits:
no files, no MLflow (``training.backtest.report`` writes those).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from training.backtest import metrics as bm
from training.backtest.baselines import (
    ALIVE_MODELS,
    BTYD_HISTORY,
    Baselines,
    buyers,
    fit_baselines,
    purchase_days,
)
from training.backtest.truth import known_rates_no_purchase, oracle_no_purchase
from training.backtest.windows import Windows
from training.clv.holdout import probability_no_purchase
from training.clv.metrics import decile_table
from training.data.contract import CleanData
from training.data.snapshot import Snapshot, build_snapshot, stack_snapshots
from training.tasks import MODELS, task

CONTRADICTION_MARGIN = 0.05  # P(dead) above P(no purchase) by more than this is impossible
Progress = Callable[[str], None]


@dataclass
class CutoffResult:
    """Everything one split produced; ``table`` has columns task, metric, method, value."""

    windows: Windows
    table: pd.DataFrame
    calibration: pd.DataFrame  # method, bin, n, mean_predicted, observed
    purchases: pd.DataFrame  # repeat_purchases, n, actual, <method>...
    deciles: pd.DataFrame  # method, decile, n, mean_predicted, mean_actual
    alive_model: str  # the purchase model with the best holdout log-likelihood
    notes: list[str] = field(default_factory=list)

    def value(self, task_name: str, metric: str, method: str) -> float:
        t = self.table
        hit = t[(t["task"] == task_name) & (t["metric"] == metric) & (t["method"] == method)]
        return float(hit["value"].iloc[0]) if len(hit) else float("nan")


@dataclass
class _Split:
    """The scored customers of one split: buyers before the cutoff, in one order."""

    windows: Windows
    rows: pd.DataFrame  # snapshot rows at the cutoff (features and labels)
    base: Baselines
    fitted: dict[str, Any]
    clv: pd.DataFrame | None  # cintel-clv's predict_frame for the horizon
    churn: np.ndarray | None  # cintel-churn's probability
    counts: np.ndarray  # actual purchase days in the horizon
    target: str


def _fit_models(
    train: Snapshot, models: Sequence[str], notes: list[str], progress: Progress
) -> dict[str, Any]:
    fitted: dict[str, Any] = {}
    for name in models:
        progress(f"fitting {name} on the snapshot at {train.as_of:%Y-%m-%d}")
        try:
            fitted[name] = task(name).parts.fit(train)
        except ValueError as exc:
            notes.append(f"{name} not fitted: {exc}")
    return fitted


def _churn(s: _Split, truth: pd.DataFrame | None) -> tuple[list[bm.Row], pd.DataFrame]:
    """Churn on the customers with a defined label: every method's ranking and calibration."""
    keep = s.rows["label_churn"].notna().to_numpy()
    y = s.rows.loc[keep, "label_churn"].to_numpy(dtype="float64")
    frame = s.base.frame.loc[keep]
    probs: dict[str, np.ndarray] = {}
    if s.churn is not None:
        probs["cintel"] = s.churn[keep]
    for name in ALIVE_MODELS:
        probs[name] = frame[f"{name}_p0"].to_numpy()
    if truth is not None:
        probs["oracle"] = oracle_no_purchase(truth, frame["customer_id"], s.windows)
        known = known_rates_no_purchase(truth, frame["customer_id"], frame, s.windows)
        if np.isfinite(known).all():
            probs["known_rates"] = known
    out = bm.rows("churn", "recency", bm.churn_scores(y, frame["recency"].to_numpy(), False))
    for method, p in probs.items():
        out += bm.rows("churn", method, bm.churn_scores(y, p, True))
    out += bm.rows("churn", "actual", {"rate": float(y.mean()), "n_customers": float(len(y))})
    if "oracle" in probs:
        oracle_auc = next(
            r["value"] for r in out if r["method"] == "oracle" and r["metric"] == "roc_auc"
        )
        for r in [r for r in out if r["metric"] == "roc_auc" and r["method"] != "oracle"]:
            ratio = float(r["value"]) / float(oracle_auc)  # type: ignore[arg-type]
            out += bm.rows("churn", str(r["method"]), {"auc_over_oracle": ratio})
    calibration = pd.concat(
        [bm.calibration_table(y, p).assign(method=m) for m, p in probs.items()], ignore_index=True
    )
    return out, calibration


def brier_horizons(w: Windows) -> list[int]:
    """The horizons of the Brier-per-horizon rows: the training label window, half the
    horizon and the horizon (those the evaluation window covers)."""
    return sorted({d for d in (w.label_days, w.horizon_days // 2, w.horizon_days) if d >= 1})


def _brier_by_horizon(s: _Split, data: CleanData, features: pd.DataFrame) -> list[bm.Row]:
    """Brier of P(no purchase in the next h days) for every h of ``brier_horizons``: cintel
    rescaled from its label window (training/churn/horizon.py) and each BTYD model's own."""
    keep = s.rows["label_churn"].notna().to_numpy()
    hist = [s.base.frame[c].to_numpy(dtype="float64")[keep] for c in BTYD_HISTORY]
    ids = s.rows.loc[keep, "customer_id"]
    out: list[bm.Row] = []
    for h in brier_horizons(s.windows):
        y = (purchase_days(data.transactions, ids, s.windows.cutoff, h) == 0).astype("float64")
        probs = {m: probability_no_purchase(s.base.models[m], h, *hist) for m in ALIVE_MODELS}
        if "churn" in s.fitted:
            probs["cintel"] = s.fitted["churn"].predict_proba(features.loc[keep], h)
        for method, p in probs.items():
            out += bm.rows("churn", method, {f"brier_{h}d": float(np.mean((p - y) ** 2))})
        out += bm.rows("churn", "actual", {f"rate_{h}d": float(y.mean())})
    return out


def _purchases(s: _Split) -> tuple[list[bm.Row], pd.DataFrame]:
    expected = {name: s.base.frame[f"{name}_exp"].to_numpy() for name in ALIVE_MODELS}
    if s.clv is not None:
        expected = {"cintel": s.clv["expected_purchases"].to_numpy(), **expected}
    out: list[bm.Row] = []
    for method, values in expected.items():
        out += bm.rows("purchases", method, bm.purchase_scores(s.counts, values))
    out += bm.rows("purchases", "actual", {"total": float(s.counts.sum())})
    table = bm.by_frequency(s.rows["btyd_frequency"].to_numpy(), s.counts, expected)
    return out, table


def _alive(s: _Split) -> tuple[list[bm.Row], str]:
    """Holdout and calibration log-likelihood per purchase model (mean per customer), the
    choice, and how often each P(alive) contradicts the churn probability: a dead customer
    buys nothing, so P(dead) > P(no purchase in the window) is impossible."""
    out: list[bm.Row] = []
    holdout = s.base.holdout(s.counts, s.windows.horizon_days)
    n = len(s.counts)
    for name, ll in holdout.items():
        figures = {
            "holdout_loglik": float(ll.mean()),
            "calibration_loglik": float(s.base.models[name].loglik_) / n,
        }
        out += bm.rows("alive", name, figures)
    chosen = max(holdout, key=lambda k: float(holdout[k].sum()))
    alives = {name: s.base.frame[f"{name}_alive"].to_numpy() for name in ALIVE_MODELS}
    if s.clv is not None:
        alives["cintel"] = s.clv["prob_alive"].to_numpy()
    for name, alive in alives.items():
        figures = {
            "mean_prob_alive": float(np.nanmean(alive)),
            "share_prob_alive_1": float(np.mean(alive >= 0.999)),
            "n_nan_prob_alive": float(np.isnan(alive).sum()),
        }
        if s.churn is not None:
            dead = 1.0 - alive
            figures["contradiction_share"] = float(np.mean(dead > s.churn + CONTRADICTION_MARGIN))
            figures["alive_and_churn_share"] = float(np.mean((alive >= 0.9) & (s.churn >= 0.9)))
        out += bm.rows("alive", name, figures)
    return out, chosen


def _clv(s: _Split) -> tuple[list[bm.Row], pd.DataFrame]:
    actual = s.rows[f"future_{s.target}"].to_numpy(dtype="float64")
    values = {c: s.base.frame[c].to_numpy() for c in ("bgnbd_gg", "naive_run_rate")}
    if s.clv is not None:
        values = {"cintel": s.clv["learned_clv_horizon"].to_numpy(), **values}
    out: list[bm.Row] = []
    for method, v in values.items():
        out += bm.rows("clv", method, bm.clv_scores(actual, v))
    totals = {"total": float(actual.sum()), "n_customers": float(len(actual))}
    out += bm.rows("clv", "actual", totals)
    deciles = pd.concat(
        [decile_table(actual, v).assign(method=m) for m, v in values.items()], ignore_index=True
    )
    return out, deciles


def _propensity(model: Any, frame: pd.DataFrame) -> list[bm.Row]:
    """Per family and kind: ROC AUC and expected ÷ actual buyers (1 when calibrated), and
    their means over the families of each kind."""
    from training.propensity.model import KINDS, label_column, output_column

    pred = model.predict_frame(frame)
    names = ("roc_auc", "expected_over_actual")
    out: list[bm.Row] = []
    for kind in KINDS:
        per_family: list[dict[str, float]] = []
        for slug in model.slugs:
            column = output_column(kind, slug)
            if column not in pred.columns or pred[column].isna().all():
                continue
            y = frame[label_column(kind, slug)].to_numpy(dtype="float64")
            scores = bm.propensity_scores(y, pred[column].to_numpy(dtype="float64"))
            out += bm.rows(
                "propensity", "cintel", {f"{k}_{kind}__{slug}": scores[k] for k in names}
            )
            per_family.append(scores)
        if per_family:
            means = {
                f"mean_{k}_{kind}": float(np.nanmean([f[k] for f in per_family])) for k in names
            }
            out += bm.rows("propensity", "cintel", means)
    return out


def backtest_cutoff(
    data: CleanData,
    windows: Windows,
    models: Sequence[str] = MODELS,
    ground_truth: pd.DataFrame | None = None,
    progress: Progress = lambda _m: None,
) -> CutoffResult:
    """One split: fit at ``windows.fit_as_of``, score at the cutoff, compare with the horizon."""
    notes: list[str] = []
    progress(f"building the snapshots for the cutoff {windows.cutoff:%Y-%m-%d}")
    train = stack_snapshots(
        [
            build_snapshot(data, d, windows.label_days, require_labels=True)
            for d in windows.fit_origins
        ]
    )
    score = build_snapshot(data, windows.cutoff, windows.horizon_days, require_labels=True)
    fitted = _fit_models(train, models, notes, progress)
    progress("fitting the baselines and scoring every customer at the cutoff")
    rows = buyers(score.frame)
    target = fitted["clv"].config.target if "clv" in fitted else "margin"
    features = rows[["customer_id", *score.feature_columns]]
    clv = fitted["clv"].predict_frame(features, windows.horizon_days) if "clv" in fitted else None
    split = _Split(
        windows=windows,
        rows=rows,
        base=fit_baselines(rows, windows.horizon_days, target),
        fitted=fitted,
        clv=clv,
        churn=(
            fitted["churn"].predict_proba(features, windows.horizon_days)
            if "churn" in fitted
            else None
        ),
        counts=purchase_days(
            data.transactions, rows["customer_id"], windows.cutoff, windows.horizon_days
        ),
        target=target,
    )
    table, calibration = _churn(split, ground_truth)
    table += _brier_by_horizon(split, data, features)
    purchase_rows, purchases = _purchases(split)
    alive_rows, chosen = _alive(split)
    clv_rows, deciles = _clv(split)
    table += purchase_rows + alive_rows + clv_rows
    if "propensity" in fitted:
        table += _propensity(fitted["propensity"], score.frame)
    if "segments" in fitted and ground_truth is not None:
        from training.segments import archetype_ari

        ari = archetype_ari(fitted["segments"], score, ground_truth)
        table += bm.rows("segments", "cintel", {"adjusted_rand_vs_archetypes": ari})
    elif "segments" in fitted:
        notes.append("segments: no outcome to compare with without ground truth (fitted only)")
    frame = pd.DataFrame(table, columns=["task", "metric", "method", "value"])
    return CutoffResult(windows, frame, calibration, purchases, deciles, chosen, notes)


@dataclass
class BacktestResult:
    """All splits; ``table`` adds a cutoff column, ``summary`` the rolling-origin spread."""

    cutoffs: list[CutoffResult]

    @property
    def table(self) -> pd.DataFrame:
        return pd.concat(
            [c.table.assign(cutoff=f"{c.windows.cutoff:%Y-%m-%d}") for c in self.cutoffs],
            ignore_index=True,
        )

    @property
    def summary(self) -> pd.DataFrame:
        return bm.summarise(self.table)


def run_backtest(
    data: CleanData,
    windows: Sequence[Windows],
    models: Sequence[str] = MODELS,
    ground_truth: pd.DataFrame | None = None,
    progress: Progress = lambda _m: None,
    threads: int = 1,
) -> BacktestResult:
    """Every split in ``windows``, numeric libraries limited to ``threads`` threads."""
    for name in models:
        task(name)  # unknown names fail before any work
    with threadpool_limits(limits=threads):
        return BacktestResult(
            [backtest_cutoff(data, w, models, ground_truth, progress) for w in windows]
        )
