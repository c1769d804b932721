"""``cintel campaigns``: read the logs and the data, build the report, write it, track it.

Writes ``campaigns.csv`` and ``campaigns.html`` to the output folder (default
``CINTEL_HOME/reports/campaigns/<UTC stamp>/``, linked from the reports index) and logs one
run to the MLflow experiment ``cintel-campaigns``: every report row's figures as metrics
named ``<campaign>.<offer_id>[.<breakdown>.<level>].<figure>``, the CSV and page as
artifacts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.campaigns import CI_METHOD, FIGURES, CampaignConfig, campaign_report, render_html
from monitoring.monitor import STAMP, write_index
from training.data.decision_log import read_decisions, read_feedback
from training.data.features import slug
from training.data.io import load_data
from training.data.outcomes import responses
from training.settings import Settings

EXPERIMENT = "cintel-campaigns"
CAMPAIGNS_DIR = "campaigns"
TRUTH_FILE = "ground_truth_responses.parquet"


@dataclass(frozen=True)
class CampaignRun:
    """Where the report went, the report itself and what to tell the reader."""

    out_dir: Path
    report: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    mlflow_run_id: str | None = None


def offer_costs(offers_path: Path | None = None) -> dict[str, float]:
    """Offer id -> cost per offer made, from the catalogue the service uses."""
    from serving.catalogue import load_catalogue

    return {o.id: float(o.cost) for o in load_catalogue(offers_path).offers}


def read_profiles(store_dir: Path) -> pd.DataFrame | None:
    """customer_id, value_tier, segment and micro_segment of the online store (those it has),
    or None without a store."""
    path = Path(store_dir) / "profiles.parquet"
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    columns = [c for c in ("customer_id", "value_tier", "segment", "micro_segment") if c in names]
    return pd.read_parquet(path, columns=columns) if "customer_id" in columns else None


def true_effects(rows: pd.DataFrame, data_dir: Path) -> pd.Series | None:
    """p_buy_treated − p_buy_control per response row from the simulator's truth, if any."""
    path = Path(data_dir) / TRUTH_FILE
    if not path.exists():
        return None
    from training.data.simulator.responses import lookup_truth

    p = lookup_truth(rows, pd.read_parquet(path))
    return p["p_buy_treated"] - p["p_buy_control"]


def data_end(data_dir: Path) -> pd.Timestamp | None:
    """How far a data folder says it is complete (``cintel.data_end`` in the footer of
    transactions.parquet, written by simulate-responses), or None."""
    from training.data.io import stated_data_end

    return stated_data_end(data_dir)


def _out_dir(reports_dir: Path, now: datetime) -> Path:
    base = reports_dir / CAMPAIGNS_DIR / now.astimezone(UTC).strftime(STAMP)
    for n in range(1, 1000):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"too many campaign reports at {base.name}")


def metric_name(row: Mapping[Any, Any], figure: str) -> str:
    """``campaign.offer[.breakdown.level].figure`` with MLflow-safe parts."""
    parts = [str(row["campaign"]), str(row["offer_id"])]
    if row["breakdown"] != "all":
        parts += [str(row["breakdown"]), slug(row["level"])]
    return ".".join([*(slug(p) for p in parts), figure])


def run_campaigns(
    settings: Settings,
    data_dir: Path,
    out_dir: Path | None = None,
    decisions_dir: Path | None = None,
    feedback_dir: Path | None = None,
    offers_path: Path | None = None,
    config: CampaignConfig | None = None,
    track: bool = True,
    now: datetime | None = None,
    as_of: pd.Timestamp | None = None,
) -> CampaignRun:
    """Build, write and track the campaigns report (see the module docstring).

    ``as_of``: the data is complete before it; default the folder's own statement
    (``data_end``), else the day after its latest transaction."""
    now = now or datetime.now(UTC)
    config = config or CampaignConfig()
    decisions_dir = Path(decisions_dir or settings.home / "decisions")
    feedback_dir = Path(feedback_dir or settings.home / "feedback")
    # the data is read and validated on a second thread while Arrow parses the log
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = pool.submit(load_data, data_dir)
        decisions = read_decisions(decisions_dir, first_only=True)  # the rows responses uses
        if decisions.empty:
            raise ValueError(
                f"{decisions_dir}: no decision records with offers; the service records one "
                "per answer (and `cintel targets` per listed customer)"
            )
        data = loading.result()
    feedback = read_feedback(feedback_dir)
    as_of = as_of if as_of is not None else data_end(Path(data_dir))
    rows = responses(decisions, data.transactions, feedback, as_of=as_of, first_only=True)
    notes = [
        f"{decisions.attrs.get('records', 0):,} decision records in {decisions_dir}; "
        f"{len(rows):,} first decisions per customer, campaign and offer, "
        f"{int(rows['matured'].sum()):,} of them matured (the data covers their response "
        f"window: it is complete "
        + (
            f"before {as_of:%Y-%m-%d %H:%M})"
            if as_of is not None
            else f"to its last transaction's day, {data.transactions['ts'].max():%Y-%m-%d})"
        ),
        f"lift: treated − control response rate, in points; 95 % interval: {CI_METHOD}",
        "incremental margin: (margin per treated − margin per control) × treated; "
        "ROI: (incremental margin − cost) / cost",
    ]
    if decisions.attrs.get("skipped"):
        notes.append(f"{decisions.attrs['skipped']} unreadable decision line(s) skipped")
    profiles = read_profiles(settings.store_dir)
    if profiles is None:
        notes.append(
            f"no online store at {settings.store_dir}: value tier, segment and micro-segment "
            "breakdowns left out (run `cintel materialize`)"
        )
    else:
        notes.append(
            "value tier, segment and micro-segment: the customers' current ones in the online store"
        )
    truth = true_effects(rows, data_dir)
    if truth is not None:
        notes.append("true_lift: mean p_buy_treated − p_buy_control of the treated (simulator)")
    report = campaign_report(rows, offer_costs(offers_path), profiles, truth, config)
    out = Path(out_dir) if out_dir is not None else _out_dir(settings.reports_dir, now)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "campaigns.csv", report.to_csv(index=False))
    title = f"cintel campaigns {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    _write(out / "campaigns.html", render_html(report, title, notes))
    Path(settings.reports_dir).mkdir(parents=True, exist_ok=True)
    write_index(settings.reports_dir)
    run_id = _track(report, out, now, settings) if track else None
    return CampaignRun(out, report, notes, run_id)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _track(report: pd.DataFrame, out: Path, now: datetime, settings: Settings) -> str:
    """One run in ``cintel-campaigns`` (the client API; leaves any active run alone)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    from training.mlops.tracking import configure_tracking, get_or_create_experiment

    configure_tracking(settings)
    client = MlflowClient()
    experiment_id = get_or_create_experiment(EXPERIMENT, settings)
    run = client.create_run(
        experiment_id,
        run_name=f"campaigns@{now:%Y-%m-%dT%H:%M}",
        tags={"report_dir": str(out.resolve()), "cintel.kind": "campaigns"},
    )
    stamp = int(now.timestamp() * 1000)
    metrics = []
    for row in report.to_dict("records"):
        for figure in FIGURES:
            value = row.get(figure)
            if value is not None and np.isfinite(float(value)):
                metrics.append(Metric(metric_name(row, figure), float(value), stamp, 0))
    for i in range(0, len(metrics), 1000):
        client.log_batch(run.info.run_id, metrics=metrics[i : i + 1000])
    client.log_batch(run.info.run_id, tags=[RunTag("rows", str(len(report)))])
    client.log_artifact(run.info.run_id, str(out / "campaigns.csv"))
    client.log_artifact(run.info.run_id, str(out / "campaigns.html"))
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)
