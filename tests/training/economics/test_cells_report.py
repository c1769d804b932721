"""The segments run's value x potential cells on simulated data: the table adds up, the
levels follow the shares, high-potential cells hold the customers with the lowest true
share of wallet, and the run logs the heat map with cells.yaml's strategies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from training import segments
from training.data.contract import validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.economics.cells_config import parse_cells
from training.economics.costs import Costs
from training.pipeline import build_snapshots, train
from training.segments.cells_report import levels_of, potential_of
from training.segments.economics_report import value_frame
from training.settings import Settings
from training.tasks import TaskInputs


def test_cells_table_adds_up_and_follows_the_truth(tmp_path: Path) -> None:
    sim = synthesize(SynthConfig(n_customers=2000, seed=4))
    data = validate(sim.transactions, sim.customers)
    train_snap, eval_snap = build_snapshots(data, None, 90)
    model = segments.fit(train_snap)
    paths = segments.write_artifacts(model, eval_snap, tmp_path, transactions=data.transactions)
    names = {p.name for p in paths}
    assert {"value_potential_cells.csv", "cells_3d.csv", "value_potential_heatmap.png"} <= names

    table = pd.read_csv(tmp_path / "value_potential_cells.csv")
    values = value_frame(model, eval_snap, data.transactions, Costs())
    assert len(table) == 5 * 4  # every tier x (high, medium, low, unknown)
    assert table["customers"].sum() == len(values)
    assert np.isclose(table["margin_12m"].sum(), values["margin_12m"].sum())
    by_level = table.groupby("potential_level")["customers"].sum() / len(values)
    assert by_level.get("unknown", 0) == 0
    assert abs(by_level["high"] - 0.2) < 0.02 and abs(by_level["medium"] - 0.3) < 0.02
    assert set(table["strategy"]) <= {"retain", "develop", "maintain", "reduce_cost_to_serve"}
    three = pd.read_csv(tmp_path / "cells_3d.csv")
    assert three["customers"].sum() == len(values)
    assert set(three["segment"]) == set(values["segment"])

    # on the simulator's truth: high potential = the lowest true share of wallet
    pred = potential_of(eval_snap)
    assert pred is not None
    from training.economics.cells_config import CellsConfig

    level = levels_of(pred, len(pred), CellsConfig())
    truth = sim.ground_truth.set_index("customer_id")["true_share_of_wallet"]
    share = truth.reindex(eval_snap.frame["customer_id"].to_numpy()).to_numpy()
    bought = (eval_snap.frame["spend_365d"] > 0).to_numpy()
    mean = {v: float(np.nanmean(share[bought & (level == v)])) for v in ("high", "medium", "low")}
    assert mean["high"] < mean["medium"] < mean["low"], mean


def test_segments_run_logs_the_heat_map_with_the_strategies(mlflow_home: Settings) -> None:
    sim = synthesize(SynthConfig(n_customers=1500, seed=4))
    data = validate(sim.transactions, sim.customers)
    cells = parse_cells({"strategies": {"gold": {"low": "maintain"}}}, "cells.yaml")
    (result,) = train(data, models=["segments"], inputs=TaskInputs(cells=cells))
    run_id = MlflowClient().get_model_version("cintel-segments", result.version).run_id
    logged = {a.path for a in MlflowClient().list_artifacts(run_id, "report")}
    assert {
        "report/value_potential_cells.csv",
        "report/cells_3d.csv",
        "report/value_potential_heatmap.png",
    } <= logged
    local = MlflowClient().download_artifacts(run_id, "report/value_potential_cells.csv")
    table = pd.read_csv(local).set_index(["value_tier", "potential_level"])
    assert table.loc[("gold", "low"), "strategy"] == "maintain"
    assert table.loc[("gold", "medium"), "strategy"] == "retain"
