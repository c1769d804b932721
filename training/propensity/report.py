"""Artifacts of a propensity run: profile table and heat map, basket rules, lift chart."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from training.data.snapshot import Snapshot
from training.propensity.baskets import basket_rules
from training.propensity.metrics import TOP_FRACTION, evaluate
from training.propensity.model import KINDS, PropensityModel
from training.propensity.profiles import family_profiles, lift_matrix

MAX_HEATMAP_COLUMNS = 60


def importance_table(model: PropensityModel) -> pd.DataFrame:
    """Total gain of each feature in each booster, largest first within a model."""
    rows = [
        (key.split(":")[0], key.split(":", 1)[1], feature, float(np.sum(gain)))
        for key, booster in model.boosters_.items()
        for feature, gain in booster.get_score(importance_type="total_gain").items()
    ]
    table = pd.DataFrame(rows, columns=["kind", "family", "feature", "total_gain"])
    return table.sort_values(
        ["kind", "family", "total_gain"], ascending=[True, True, False], kind="stable"
    ).reset_index(drop=True)


def _heatmap(profiles: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    wide = lift_matrix(profiles).iloc[:, :MAX_HEATMAP_COLUMNS]
    log_lift = np.log2(wide.to_numpy(dtype="float64").clip(1e-3))
    bound = max(0.5, float(np.nanmax(np.abs(log_lift)))) if np.isfinite(log_lift).any() else 1.0
    bound = min(bound, 2.0)
    height = 1.2 + 0.45 * len(wide.index)
    width = 3.0 + 0.32 * len(wide.columns)
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(log_lift, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(wide.columns)), wide.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(len(wide.index)), wide.index, fontsize=8)
    if wide.size <= 400:
        for (i, j), value in np.ndenumerate(wide.to_numpy(dtype="float64")):
            if math.isfinite(value):
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=5)
    fig.colorbar(image, ax=ax, label="log2 lift vs all customers")
    ax.set_title("Customer profile by product family")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _lift_chart(metrics: dict[str, float], model: PropensityModel, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fams = model.slugs
    x = np.arange(len(fams))
    fig, ax = plt.subplots(figsize=(2.0 + 0.7 * len(fams), 3.6))
    for i, kind in enumerate(KINDS):
        values = [metrics.get(f"lift_top_decile_{kind}__{s}", math.nan) for s in fams]
        ax.bar(x + (i - 0.5) * 0.4, np.nan_to_num(values), width=0.4, label=kind)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, fams, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"lift in top {TOP_FRACTION:.0%}")
    ax.set_title("Propensity: top-decile lift by family (0 = skipped/undefined)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_artifacts(
    model: PropensityModel,
    snapshot: Snapshot,
    out_dir: Path,
    transactions: pd.DataFrame | None = None,
) -> list[Path]:
    """Profiles CSV + heat map, feature gains CSV, skipped models CSV, and, when available,
    basket rules CSV (``transactions`` given) and the top-decile lift chart (labelled)."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    profiles = family_profiles(snapshot)
    profiles.to_csv(out_dir / "propensity_profiles.csv", index=False)
    written.append(out_dir / "propensity_profiles.csv")
    if len(profiles):
        written.append(_heatmap(profiles, out_dir / "propensity_profiles_heatmap.png"))
    importance_table(model).to_csv(out_dir / "propensity_importance.csv", index=False)
    written.append(out_dir / "propensity_importance.csv")
    skipped = pd.DataFrame(sorted(model.skipped_.items()), columns=["model", "reason"])
    skipped.to_csv(out_dir / "propensity_skipped.csv", index=False)
    written.append(out_dir / "propensity_skipped.csv")
    if transactions is not None:
        rules = basket_rules(transactions)
        rules.to_csv(out_dir / "basket_rules.csv", index=False)
        written.append(out_dir / "basket_rules.csv")
    if snapshot.labelled:
        metrics = evaluate(model, snapshot)
        written.append(_lift_chart(metrics, model, out_dir / "propensity_lift_by_family.png"))
    return written
