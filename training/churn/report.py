"""Churn artifacts: ROC, PR, reliability, gains, SHAP bars, churner profile, reason sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from training.churn.metrics import top_decile_mask
from training.churn.model import ChurnModel
from training.churn.profile import churner_profile, plot_profile
from training.data.snapshot import Snapshot

N_REASON_SAMPLE = 50


def _scored_rows(model: ChurnModel, snapshot: Snapshot) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Labelled customers (and labels) when the snapshot has them, else every buyer."""
    frame = snapshot.frame
    column = model.label_column
    if snapshot.labelled and column in frame.columns:
        rows = frame.loc[frame[column].notna()]
        return rows, rows[column].to_numpy(dtype="float64")
    if "recency_days" in frame.columns:
        return frame.loc[frame["recency_days"].notna()], None
    return frame, None


def _save(fig: object, path: Path, written: list[Path]) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(path, dpi=100)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    written.append(path)


def _curves(y: np.ndarray, prob: np.ndarray, raw: np.ndarray, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    written: list[Path] = []
    fpr, tpr, _ = roc_curve(y, prob)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label="model")
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="random")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend()
    _save(fig, out / "roc.png", written)

    precision, recall, _ = precision_recall_curve(y, prob)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(recall, precision, label="model")
    ax.axhline(y.mean(), color="black", linestyle="--", linewidth=0.8, label="base rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend()
    _save(fig, out / "pr.png", written)

    bins = pd.qcut(pd.Series(prob).rank(method="first"), q=min(10, len(y)), labels=False)
    table = pd.DataFrame({"bin": bins, "predicted": prob, "observed": y})
    table = table.groupby("bin").agg(
        predicted=("predicted", "mean"), observed=("observed", "mean"), n=("observed", "size")
    )
    table.to_csv(out / "calibration.csv")
    written.append(out / "calibration.csv")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="perfect")
    ax.plot(table["predicted"], table["observed"], "o-", label="model (deciles)")
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed churn rate",
        title="Calibration (reliability)",
    )
    ax.legend()
    _save(fig, out / "calibration.png", written)

    order = np.lexsort((np.arange(len(y)), -raw, -prob))
    share = np.arange(1, len(y) + 1) / len(y)
    gains = np.cumsum(y[order]) / max(y.sum(), 1.0)
    lift = gains / share
    decile = pd.DataFrame({"share_contacted": share, "share_of_churners": gains, "lift": lift})
    idx = np.unique(np.ceil(np.linspace(0.1, 1.0, 10) * len(y)).astype(int) - 1)
    decile.iloc[idx].to_csv(out / "gains.csv", index=False)
    written.append(out / "gains.csv")
    step = max(1, len(y) // 500)  # plot at most ~500 points
    share, gains, lift = share[::step], gains[::step], lift[::step]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    left.plot(np.r_[0, share], np.r_[0, gains], label="model")
    left.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="random")
    left.set(
        xlabel="share of customers contacted (riskiest first)",
        ylabel="share of churners found",
        title="Cumulative gains",
    )
    left.legend()
    right.plot(share, lift)
    right.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    right.set(xlabel="share of customers contacted", ylabel="lift", title="Lift")
    _save(fig, out / "gains.png", written)
    return written


def _importance(model: ChurnModel, rows: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    contribs = model.contributions(rows)[:, :-1]
    names = list(model.encoding.feature_names)
    imp = pd.DataFrame(
        {
            "feature": names,
            "label": [model.reason_table.labels.get(n, n) for n in names],
            "mean_abs_contribution": np.abs(contribs).mean(axis=0),
            "mean_contribution": contribs.mean(axis=0),
        }
    ).sort_values("mean_abs_contribution", ascending=False)
    imp.to_csv(out / "feature_importance.csv", index=False)
    top = imp.head(20).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(top) + 1.2))
    ax.barh(top["label"], top["mean_abs_contribution"], color="tab:purple")
    ax.set(xlabel="mean |SHAP contribution| (log-odds)", title="What drives churn risk")
    written = [out / "feature_importance.csv"]
    _save(fig, out / "shap_summary.png", written)
    return written


def write_artifacts(model: ChurnModel, snapshot: Snapshot, out_dir: Path) -> list[Path]:
    """Write plots (PNG) and tables (CSV) to ``out_dir``; return the files written.

    Without labels in ``snapshot`` the ROC, PR, calibration and gains outputs are skipped
    (there is nothing to compare with); importance, profile and reasons are always written.
    """
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, y = _scored_rows(model, snapshot)
    if len(rows) == 0:
        raise ValueError("no customer with a purchase in the snapshot: nothing to report")
    raw, prob = model.raw_score(rows), model.predict_proba(rows)
    written: list[Path] = []
    if y is not None and 0 < y.sum() < len(y):
        written += _curves(y, prob, raw, out)
    written += _importance(model, rows, out)
    high = top_decile_mask(prob, raw)
    profile = churner_profile(model, model.with_derived(rows), high)
    profile.to_csv(out / "churner_profile.csv", index=False)
    written += [out / "churner_profile.csv", plot_profile(profile, out / "churner_profile.png")]
    riskiest = rows.iloc[np.argsort(-prob, kind="stable")[:N_REASON_SAMPLE]]
    sample = model.predict_frame(riskiest)
    sample.to_csv(out / "top_risk_reasons.csv", index=False)
    written.append(out / "top_risk_reasons.csv")
    return written
