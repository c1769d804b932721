"""Artifacts of a prospect model: the evaluation cohort by decile of look-alike score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from training.data.snapshot import Snapshot
from training.deciles import by_decile, write_decile_artifacts
from training.prospect.cohort import LABEL, MARGIN
from training.prospect.model import ProspectModel


def decile_table(model: ProspectModel, snapshot: Snapshot) -> pd.DataFrame:
    """Evaluation cohort by decile of score (10 = most alike the best): counts, the
    predicted and the actual top-tier rate, expected and actual first-year margin."""
    frame = snapshot.frame
    pred = model.predict_frame(frame).assign(
        top_tier=frame[LABEL].to_numpy(), first_year_margin=frame[MARGIN].to_numpy()
    )
    return by_decile(
        pred,
        "lookalike_score",
        lookalike_score=("lookalike_score", "mean"),
        top_tier_rate=("top_tier", "mean"),
        expected_first_year_value=("expected_first_year_value", "mean"),
        first_year_margin=("first_year_margin", "mean"),
    )


def write_artifacts(model: ProspectModel, snapshot: Snapshot, out_dir: Path) -> list[Path]:
    """``prospect_deciles.csv`` and ``prospect_lift.png``; returns the paths."""

    def draw(ax: Any, table: pd.DataFrame) -> None:
        ax.bar(table["decile"], table["top_tier_rate"], color="tab:blue", label="actual")
        ax.plot(table["decile"], table["lookalike_score"], "ko-", label="predicted")

    return write_decile_artifacts(
        decile_table(model, snapshot), out_dir, "prospect_deciles.csv", "prospect_lift.png",
        draw, xlabel="decile of look-alike score (signup attributes only)",
        ylabel="became top tier within a year", title="Look-alike score on a later signup cohort",
    )  # fmt: skip
