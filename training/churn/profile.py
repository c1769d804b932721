"""Churner profile: how the top decile of risk differs from all scored customers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.churn.model import ChurnModel

PROFILE_COLUMNS = ["kind", "feature", "label", "value", "high_risk", "base", "ratio"]


def _kind(name: str) -> str:
    if name.startswith("fam_share__"):
        return "family"
    if name.startswith("chan_share__"):
        return "channel"
    return "numeric"


def churner_profile(model: ChurnModel, rows: pd.DataFrame, high: np.ndarray) -> pd.DataFrame:
    """One line per numeric feature (means) and per attribute value (shares):
    high-risk value, base value and their ratio (NaN when the base is 0)."""
    labels = model.reason_table.labels
    enc = model.encoding
    lines: list[dict[str, object]] = []
    for name, kind in zip(enc.feature_names, enc.feature_types, strict=True):
        col = rows[name]
        if kind == "q":
            values = pd.to_numeric(col, errors="coerce")
            pairs = [("", float(values[high].mean()), float(values.mean()))]
            row_kind = _kind(name)
        else:
            text = col.astype("object").where(col.notna(), "missing").astype(str)
            shares_high = text[high].value_counts(normalize=True)
            shares_base = text.value_counts(normalize=True)
            pairs = [
                (str(v), float(shares_high.get(v, 0.0)), float(s)) for v, s in shares_base.items()
            ]
            row_kind = "attribute"
        for value, hi, base in pairs:
            ratio = hi / base if base != 0 and np.isfinite(base) else np.nan
            lines.append(
                {
                    "kind": row_kind,
                    "feature": name,
                    "label": labels.get(name, name),
                    "value": value,
                    "high_risk": hi,
                    "base": base,
                    "ratio": ratio,
                }
            )
    return pd.DataFrame(lines, columns=PROFILE_COLUMNS)


def plot_profile(profile: pd.DataFrame, path: Path, top: int = 20) -> Path:
    """Bars of high-risk/base ratios (log scale) for the ``top`` most different lines."""
    import matplotlib.pyplot as plt

    ok = profile[(profile["ratio"] > 0) & np.isfinite(profile["ratio"])]
    ok = ok.assign(gap=np.abs(np.log(ok["ratio"]))).nlargest(top, "gap").iloc[::-1]
    names = [f"{lb}: {v}" if v else lb for lb, v in zip(ok["label"], ok["value"], strict=True)]
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(ok), 4) + 1.2))
    colors = ["tab:red" if r > 1 else "tab:blue" for r in ok["ratio"]]
    ax.barh(names, ok["ratio"], color=colors)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("top-decile risk / all customers (ratio, log scale)")
    ax.set_title("Churner profile: how the riskiest 10% differ")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
