"""The segments run's economics artifacts on simulated data: lifecycle transitions between
two snapshots and the concentration table and picture, consistent with the P&L."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from training import segments
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.economics.costs import Costs
from training.economics.lifecycle import STAGES
from training.pipeline import build_snapshots, train
from training.segments.economics_report import value_frame
from training.settings import Settings


def test_segments_report_has_transitions_and_concentration(tmp_path: Path) -> None:
    sim = synthesize(SynthConfig(n_customers=1500, seed=4))
    data = validate(sim.transactions, sim.customers)
    train_snap, eval_snap = build_snapshots(data, None, 90)
    model = segments.fit(train_snap)
    paths = segments.write_artifacts(model, eval_snap, tmp_path, transactions=data.transactions)
    names = {p.name for p in paths}
    assert {"lifecycle_transitions.csv", "concentration.csv", "lorenz.png"} <= names

    moves = pd.read_csv(tmp_path / "lifecycle_transitions.csv", index_col=0)
    assert list(moves.columns) == list(STAGES)
    assert list(moves.index) == [*STAGES, "not yet a customer"]
    assert int(moves.to_numpy().sum()) == len(eval_snap.frame)  # every customer once
    assert moves.loc["active", "at risk"] > 0 and moves.loc["not yet a customer", "new"] > 0
    assert moves.loc["new", "new"] >= 0 and moves.loc["lapsed", "new"] == 0  # no way back to new

    table = pd.read_csv(tmp_path / "concentration.csv")
    overall = table[(table["breakdown"] == "all") & (table["measure"] == "margin_12m")].iloc[0]
    values = value_frame(model, eval_snap, data.transactions, Costs())
    assert overall["customers"] == len(values)
    assert np.isclose(overall["total"], values["margin_12m"].sum())
    assert 0.5 < overall["top20_share"] <= 1.5  # value is concentrated (Pareto)
    tiers = set(table.loc[table["breakdown"] == "value_tier", "group"])
    assert tiers <= set(segments.TIERS) and len(tiers) >= 3
    assert (table["breakdown"] == "segment").any()
    # without costs, net contribution is margin minus returns: never above the margin
    net = table[(table["breakdown"] == "all") & (table["measure"] == "net_contribution_12m")]
    assert net["total"].iloc[0] <= overall["total"]


def test_segments_run_logs_the_economics_artifacts(mlflow_home: Settings) -> None:
    sim = synthesize(SynthConfig(n_customers=1500, seed=4))
    data = validate(sim.transactions, sim.customers)
    (result,) = train(data, models=["segments"])
    assert result.version == "1"
    run_id = MlflowClient().get_model_version("cintel-segments", "1").run_id
    logged = {a.path for a in MlflowClient().list_artifacts(run_id, "report")}
    assert {
        "report/lifecycle_transitions.csv",
        "report/concentration.csv",
        "report/lorenz.png",
    } <= logged
