"""Rows grouped by decile of a score (10 = the highest scores), as the model reports show them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def by_decile(frame: pd.DataFrame, score: str, /, **aggs: tuple[str, str]) -> pd.DataFrame:
    """``frame`` by decile of ``score`` (ties broken by row order), one row per decile with
    ``customers`` (its size) and the named aggregations ``aggs`` (pandas ``agg`` tuples)."""
    ranks = frame[score].rank(method="first")
    deciles = np.ceil(10 * ranks / max(len(frame), 1)).astype(int)
    return (
        frame.assign(decile=deciles)
        .groupby("decile")
        .agg(customers=("customer_id", "size"), **aggs)
        .reset_index()
    )


def write_decile_artifacts(
    table: pd.DataFrame,
    out_dir: Path,
    csv_name: str,
    png_name: str,
    draw: Callable[[Any, pd.DataFrame], None],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
) -> list[Path]:
    """``table`` as ``csv_name`` and a plot ``png_name`` (``draw(ax, table)`` draws its
    series) in ``out_dir``; returns the two paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, png = out_dir / csv_name, out_dir / png_name
    table.to_csv(csv, index=False)
    fig, ax = plt.subplots(figsize=(6, 4))
    draw(ax, table)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return [csv, png]
