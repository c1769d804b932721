"""cintel-prospect: signup cohorts on a hand-built table with known answers, a look-alike
that finds a planted attribute signal, bad prospects tables, and on the simulator's data
the out-of-time AUC against the archetype ceiling, registered with its metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from training.data.checks import DataValidationError
from training.data.contract import CleanData, validate
from training.data.simulator.simulate import SynthConfig, synthesize
from training.data.snapshot import Snapshot
from training.pipeline import train
from training.prospect import FLOORS, MAIN_METRIC, ProspectModel, build_cohorts, evaluate, fit
from training.prospect.cohort import LABEL, MARGIN, first_year
from training.prospect.inputs import validate_prospects
from training.prospect.metrics import truth_metrics
from training.prospect.report import write_artifacts
from training.settings import Settings
from training.tasks import DEFAULT_MODELS, MODELS, STORE_MODELS, TaskInputs, task


def _tiny() -> CleanData:
    """Four customers who signed up in January 2024; c4 in March (outside the window)."""
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "signup_date": ["2024-01-05", "2024-01-10", "2024-01-20", "2024-03-01"],
            "region": ["north", "south", "north", "south"],
        }
    )
    rows = [
        (1, "2024-01-05", 100.0, 40.0, "wine"),
        (1, "2024-12-30", 50.0, 20.0, "bakery"),  # day 360: inside the first year
        (1, "2025-01-06", 500.0, 200.0, "wine"),  # day 367: after it
        (2, "2024-01-10", 30.0, 5.0, "bakery"),
        (2, "2024-02-01", -30.0, -5.0, "bakery"),  # the return cancels it
        (3, "2024-06-01", 20.0, 8.0, "bakery"),
        (4, "2024-03-01", 70.0, 25.0, "wine"),
    ]
    tx = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "margin", "family"])
    return validate(tx, customers, now=pd.Timestamp("2026-01-01"))


def test_first_year_counts_only_the_first_365_days_of_the_window_signups() -> None:
    data = _tiny()
    out = first_year(data, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"), cut=50.0)
    expected = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "attr_region": ["north", "south", "north"],
            LABEL: np.array([1, 0, 0], dtype="int8"),  # 60 >= 50; 0 and 8 below
            MARGIN: [60.0, 0.0, 8.0],
            "future_first_year_spend": [150.0, 0.0, 20.0],
            "label_first_buy__bakery": np.array([1, 1, 1], dtype="int8"),
            "label_first_buy__wine": np.array([1, 0, 0], dtype="int8"),
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out.attrs["attributes"] == {"region": "attr_region"}


def test_cohorts_are_out_of_time_and_refuse_short_or_attribute_free_data() -> None:
    data = _tiny()
    with pytest.raises(ValueError, match=r"signed up more than 395 days before"):
        build_cohorts(data, pd.Timestamp("2025-01-15"), cohort_days=30)
    bare = CleanData(data.transactions, data.customers.drop(columns=["region"]), data.report)
    with pytest.raises(ValueError, match="no attribute columns"):
        build_cohorts(bare, None)
    sim = synthesize(SynthConfig(n_customers=1500, seed=2))
    data = validate(sim.transactions, sim.customers)
    train_snap, eval_snap = build_cohorts(data)
    signups = sim.customers.set_index("customer_id")["signup_date"]
    last_train = signups[train_snap.frame["customer_id"]].max()
    first_eval = signups[eval_snap.frame["customer_id"]].min()
    assert last_train < eval_snap.as_of <= first_eval  # trained on earlier sign-ups only
    assert signups[eval_snap.frame["customer_id"]].max() < pd.Timestamp("2025-01-01")
    # --holdout-from: no first year reaches into the holdout; a later --until changes nothing
    held = TaskInputs(until=pd.Timestamp("2030-01-01"), holdout_from=pd.Timestamp("2025-09-01"))
    _, before_holdout = task("prospect").parts.tables(data, held)  # type: ignore[misc]
    assert signups[before_holdout.frame["customer_id"]].max() < pd.Timestamp("2024-09-01")
    late = task("prospect").parts.tables(data, TaskInputs(until=pd.Timestamp("2030-01-01")))  # type: ignore[misc]
    assert late[1].frame.equals(eval_snap.frame)


def _planted(n: int = 4000, seed: int = 0) -> Snapshot:
    """Region a: 50 % become top tier and buy wine (70 %); region b: 10 % and 20 %."""
    rng = np.random.default_rng(seed)
    a = rng.random(n) < 0.5
    top = rng.random(n) < np.where(a, 0.5, 0.1)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "attr_region": np.where(a, "a", "b"),
            "attr_noise": rng.normal(size=n),
            LABEL: top.astype("int8"),
            MARGIN: np.where(top, 300.0, 20.0) + rng.normal(0, 5, n),
            "label_first_buy__bakery": (rng.random(n) < 0.9).astype("int8"),
            "label_first_buy__wine": (rng.random(n) < np.where(a, 0.7, 0.2)).astype("int8"),
        }
    )
    return Snapshot(frame, pd.Timestamp("2024-01-01"), 365, True, ("bakery", "wine"), ("store",))


def test_lookalike_finds_a_planted_attribute_signal(tmp_path: Path) -> None:
    model = fit(_planted())
    evaluation = _planted(seed=1)
    out = model.predict_frame(evaluation.frame)
    a = evaluation.frame["attr_region"].eq("a").to_numpy()
    assert out.loc[a, "lookalike_score"].mean() == pytest.approx(0.5, abs=0.05)
    assert out.loc[~a, "lookalike_score"].mean() == pytest.approx(0.1, abs=0.05)
    assert out.loc[a, "lookalike_lift"].mean() == pytest.approx(0.5 / 0.3, rel=0.15)
    # expected value: 0.5 * 300 + 0.5 * 20 = 160 and 0.1 * 300 + 0.9 * 20 = 48
    assert out.loc[a, "expected_first_year_value"].mean() == pytest.approx(160, rel=0.1)
    assert out.loc[~a, "expected_first_year_value"].mean() == pytest.approx(48, rel=0.15)
    # bakery is bought by 90 % everywhere; region a over-indexes on wine, b on bakery
    assert (out.loc[a, "first_offer_family"] == "wine").all()
    assert (out.loc[~a, "first_offer_family"] == "bakery").all()
    metrics = evaluate(model, evaluation)
    assert metrics[MAIN_METRIC] == pytest.approx(0.75, abs=0.04)  # the planted AUC is 0.75
    assert metrics["first_offer_lift"] > 1.1
    assert metrics["rmse_first_year_value"] < metrics["rmse_first_year_value_baseline"]
    csv, png = write_artifacts(model, evaluation, tmp_path / "report")
    deciles = pd.read_csv(csv)
    assert deciles["decile"].tolist() == list(range(1, 11)) and png.stat().st_size > 0
    assert deciles["customers"].sum() == len(evaluation.frame)
    assert deciles["lookalike_score"].is_monotonic_increasing
    assert deciles["top_tier_rate"].iloc[-3:].mean() > deciles["top_tier_rate"].iloc[:3].mean()
    model.save(tmp_path / "m")
    again = ProspectModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.predict_frame(evaluation.frame), out)


def test_prospects_tables_get_the_data_contracts_messages() -> None:
    model = fit(_planted())
    good = pd.DataFrame({"prospect_id": ["p1", "p2"], "region": ["a", None], "noise": [0.1, 2]})
    features, report = validate_prospects(good, model, "leads.csv")
    assert list(features.columns) == ["customer_id", "attr_region", "attr_noise"]
    assert [str(w) for w in report.warnings] == [
        "leads.csv, column 'region': 1 value(s) are empty; scored as unknown (e.g. line 3: None)"
    ]
    cases = [
        (good.iloc[:0], "leads.csv: the table is empty"),
        (good.drop(columns=["noise"]), "column 'noise': required column is missing"),
        (good.assign(income=1), "column 'income': unknown column"),
        (good.drop(columns=["prospect_id"]), "column 'prospect_id': required column is missing"),
        (good.assign(prospect_id=["p1", "p1"]), "ids must be unique"),
        (
            good.assign(prospect_id=pd.Series(["p1", None], dtype=object)),
            "1 row(s) have no prospect id (e.g. line 3",
        ),
        (
            good.assign(region=["a", "c"]),
            "never seen in the customers table the model learned from (known: a, b)",
        ),
        (good.assign(noise=["x", 1]), "column 'noise': 1 value(s) are not finite numbers"),
    ]
    for frame, needle in cases:
        with pytest.raises(DataValidationError) as exc:
            validate_prospects(frame, model, "leads.csv")
        assert needle in str(exc.value)


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, CleanData]:
    sim = synthesize(SynthConfig(n_customers=4000, seed=0))
    return sim.ground_truth, validate(sim.transactions, sim.customers)


def test_simulated_attributes_carry_a_weak_signal_below_the_archetype_ceiling(
    simulated: tuple[pd.DataFrame, CleanData],
) -> None:
    truth, data = simulated
    train_snap, eval_snap = build_cohorts(data)
    model = fit(train_snap)
    auc = evaluate(model, eval_snap)[MAIN_METRIC]
    ceiling = truth_metrics(model, eval_snap, truth)["truth_auc_top_tier_archetype"]
    assert FLOORS[MAIN_METRIC] < auc < ceiling < 0.8
    assert truth_metrics(model, eval_snap, truth.drop(columns=["archetype"])) == {}


def test_trained_by_default_registered_with_its_metrics_never_a_store_model(
    simulated: tuple[pd.DataFrame, CleanData], mlflow_home: Settings
) -> None:
    truth, data = simulated
    assert "prospect" in DEFAULT_MODELS and "prospect" not in MODELS
    assert "prospect" not in STORE_MODELS and task("prospect").own_tables
    (result,) = train(data, models=["prospect"], inputs=TaskInputs(ground_truth=truth))
    assert result.decision == "promoted" and result.version == "1", result
    version = MlflowClient().get_model_version("cintel-prospect", "1")
    run = MlflowClient().get_run(str(version.run_id)).data
    assert run.metrics[MAIN_METRIC] == pytest.approx(result.score)
    assert {"truth_auc_top_tier_archetype", "lift_top_decile", "first_offer_lift"} <= set(
        run.metrics
    )
    assert run.params["prospect.base_rate"]
