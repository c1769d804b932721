"""What a training run shows in MLflow's model-training view beside its figures: a
description (what, windows, data digests) and the gate's like-for-like comparison of the
challenger with the champion on the same evaluation snapshot.

The description is the run's ``mlflow.note.content`` tag (MLflow's run description); the
comparison is ``champion_<metric>`` metrics on the challenger's run and the table
``gate/comparison.csv``, so the decision is visible where engineers look, not only as
version tags.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric

from training.data.snapshot import Snapshot

NOTE_TAG = "mlflow.note.content"
COMPARISON_ARTIFACT = "gate/comparison.csv"
CHAMPION_PREFIX = "champion_"


def run_description(model: str, summary: str, train: Snapshot, evaluation: Snapshot) -> str:
    """The run's description in Markdown: the model, its windows and the data's digests."""
    h = train.horizon_days

    def window(snap: Snapshot) -> str:
        end = snap.as_of + pd.Timedelta(days=h)
        return (
            f"snapshot at {snap.as_of:%Y-%m-%d}: features from events before it, labels from "
            f"[{snap.as_of:%Y-%m-%d}, {end:%Y-%m-%d}); {len(snap.frame):,} customers, "
            f"digest `{snap.digest}`"
        )

    return "\n".join(
        [
            f"**cintel-{model}** challenger: {summary}.",
            "",
            f"- fitted on the {window(train)}",
            f"- evaluated (challenger and current champion alike) on the {window(evaluation)}",
            f"- horizon H = {h} days; families: {', '.join(train.families) or '-'}",
        ]
    )


def comparison_table(
    challenger: Mapping[str, float], champion: Mapping[str, float] | None, main_metric: str
) -> pd.DataFrame:
    """Metric by metric: the challenger, the champion on the same snapshot and the change;
    the main metric (the gate's) first."""
    names = sorted(set(challenger) | set(champion or {}), key=lambda n: (n != main_metric, n))
    rows = []
    for name in names:
        new, old = challenger.get(name), (champion or {}).get(name)
        change = None if new is None or old is None else new - old
        rows.append(
            {
                "metric": name,
                "challenger": new,
                "champion": old,
                "change": change,
                "gate": name == main_metric,
            }
        )
    return pd.DataFrame(rows, columns=["metric", "challenger", "champion", "change", "gate"])


def log_comparison(
    run_id: str,
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    main_metric: str,
    verdict: str,
    client: MlflowClient | None = None,
) -> None:
    """On the challenger's (finished) run: the champion's figures as ``champion_<metric>``,
    the comparison table and the gate's verdict appended to the description."""
    client = client or MlflowClient()
    finite = {k: float(v) for k, v in (champion or {}).items() if math.isfinite(v)}
    if finite:
        metrics = [Metric(CHAMPION_PREFIX + k, v, 0, 0) for k, v in sorted(finite.items())]
        for start in range(0, len(metrics), 1000):  # MLflow's batch limit
            client.log_batch(run_id, metrics=metrics[start : start + 1000])
    buffer = io.StringIO()
    comparison_table(challenger, finite or None, main_metric).to_csv(buffer, index=False)
    client.log_text(run_id, buffer.getvalue(), COMPARISON_ARTIFACT)
    note = client.get_run(run_id).data.tags.get(NOTE_TAG, "")
    client.set_tag(run_id, NOTE_TAG, f"{note}\n\n**Gate:** {verdict}".strip())
