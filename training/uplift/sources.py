"""The uplift task's tables from the data and the decision log (the edge that reads files).

``cintel train --models uplift [--decisions DIR]`` calls ``build_tables`` through
``training.tasks.task_snapshots``: it reads the decision log, joins the outcomes
(``training.data.outcomes.responses``), keeps the matured rows, adds every customer's
features at decision time and splits the customers into a training and a held-out table.
Any ValueError it raises skips the uplift model with that reason and registers nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.data.contract import CleanData
from training.data.features import compute_features
from training.data.snapshot import Snapshot
from training.tasks import TaskInputs
from training.uplift.config import UpliftConfig
from training.uplift.table import align_ids, first_rows, split_table, training_table


def _decision_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.jsonl") if p.stat().st_size > 0)


def _features_at_decisions(data: CleanData, rows: pd.DataFrame) -> dict[pd.Timestamp, pd.DataFrame]:
    """Features at each customer's earliest decision date, computed per date for only the
    customers whose features are taken then (features are per-customer aggregates)."""
    ids = align_ids(rows["customer_id"], data.customers["customer_id"])
    known = rows.assign(customer_id=ids).dropna(subset=["customer_id"])
    feature_date = known.groupby("customer_id")["as_of"].min()
    tx, customers = data.transactions, data.customers
    out = {}
    for as_of, group in feature_date.groupby(feature_date):
        wanted = group.index
        out[pd.Timestamp(as_of)] = compute_features(
            tx[tx["customer_id"].isin(wanted)],
            customers[customers["customer_id"].isin(wanted)],
            as_of,
            families=data.families,
            channels=data.channels,
        )
    return out


def build_tables(
    data: CleanData, inputs: TaskInputs, config: UpliftConfig | None = None
) -> tuple[Snapshot, Snapshot]:
    """(training, held-out) uplift tables from the decision log in ``inputs.decisions``."""
    folder = inputs.decisions
    if folder is None or not _decision_files(Path(folder)):
        raise ValueError(
            f"no decision log in {folder}: the service and `cintel targets` write one to "
            "CINTEL_HOME/decisions/<day>.jsonl; name another folder with --decisions DIR"
        )
    from training.data.decision_log import read_decisions
    from training.data.outcomes import responses

    decisions = read_decisions(Path(folder))
    tx = data.transactions
    if inputs.until is not None:
        tx = tx[tx["ts"] < inputs.until]
    complete = inputs.complete_before
    if complete is not None and inputs.until is not None:
        complete = min(complete, inputs.until)
    table = responses(decisions, tx, as_of=complete)
    return tables_from_responses(data, table, config, decisions=decisions, until=inputs.until)


def tables_from_responses(
    data: CleanData,
    responses: pd.DataFrame,
    config: UpliftConfig | None = None,
    decisions: pd.DataFrame | None = None,
    until: pd.Timestamp | None = None,
) -> tuple[Snapshot, Snapshot]:
    """(training, held-out) tables from a responses frame and the data's transactions."""
    config = UpliftConfig() if config is None else config
    if len(responses) == 0:
        raise ValueError("the decision log has no offers shown or withheld: nothing to learn from")
    rows = first_rows(responses, config, decisions)
    if until is not None:
        rows = rows[rows["ts"] + pd.to_timedelta(rows["window_days"], unit="D") <= until]
    if rows.empty:
        matured = int(responses["matured"].fillna(False).astype(bool).sum())
        end = data.transactions["ts"].max()
        raise ValueError(
            f"no matured outcomes to learn from ({matured} of {len(responses)} responses "
            f"matured, none of them of a family or retention offer): the data (last "
            f"transaction {end:%Y-%m-%d}) must cover each decision's ts plus its response window"
        )
    table = training_table(rows, _features_at_decisions(data, rows))
    train, held = split_table(table, config)

    def snapshot(frame: pd.DataFrame) -> Snapshot:
        return Snapshot(
            frame=frame,
            as_of=pd.Timestamp(rows["as_of"].max()),
            horizon_days=int(rows["window_days"].max()),
            labelled=True,
            families=tuple(data.families),
            channels=tuple(data.channels),
        )

    return snapshot(train), snapshot(held)
