"""The simulator closes the loop: true responses in `cintel synth` and simulated outcomes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.entry import cli
from tests.loop import OFFERS, expected_frame, run_loop, world
from training.data.contract import validate
from training.data.decision_log import read_decisions, read_feedback
from training.data.io import read_metadata
from training.data.simulator.decisions import build_decisions, write_decisions
from training.data.simulator.responses import RESPONSE_TYPES, TRUTH_COLUMNS, simulate_outcomes
from training.data.simulator.simulate import SynthData


@pytest.fixture(scope="module")
def data() -> SynthData:
    return world(3000, seed=5)


def test_truth_has_every_customer_family_and_type(data: SynthData) -> None:
    truth = data.ground_truth_responses
    assert list(truth.columns) == TRUTH_COLUMNS
    assert len(truth) == 3000 * 7
    assert list(truth["family"].cat.categories) == [
        "fresh_food", "bakery", "household", "electronics", "beauty", "wine", "*"
    ]  # fmt: skip
    for name in ("p_buy_control", "p_buy_treated"):
        assert truth[name].between(0, 1).all()
    counts = truth["response_type"].value_counts()
    assert set(counts.index) == set(RESPONSE_TYPES) and (counts > 100).all()
    kind = truth["response_type"].astype(str)
    diff = truth["p_buy_treated"] - truth["p_buy_control"]
    assert (diff[kind == "persuadable"] > 0).all() and (diff[kind == "sleeping_dog"] < 0).all()
    assert (diff[kind.isin(["sure_thing", "lost_cause"])] == 0).all()
    assert (truth.loc[kind == "sure_thing", "p_buy_control"] >= 0.5).all()
    wide = truth.pivot_table(index="customer_id", columns="family", values="p_buy_control",
                             observed=True)  # fmt: skip
    assert (wide["*"] >= wide.drop(columns="*").max(axis=1) - 1e-12).all()


def test_truth_follows_latent_behaviour(data: SynthData) -> None:
    truth = data.ground_truth_responses.merge(
        data.ground_truth[["customer_id", "archetype", "alive_at_end", "rate_per_year"]],
        on="customer_id",
    )
    gone = truth[~truth["alive_at_end"]]
    assert (gone["p_buy_control"] == 0).all() and (gone["response_type"] == "lost_cause").all()
    alive = truth[truth["alive_at_end"] & (truth["family"] != "*")]
    persuadable = (
        alive["response_type"].eq("persuadable").groupby(alive["archetype"], observed=True).mean()
    )
    assert persuadable.idxmax() == "bargain_hunter"  # discount lovers respond to offers
    # the archetype's favourite family is bought most without an offer
    fav = alive.groupby(["archetype", "family"], observed=True)["p_buy_control"].mean()
    assert fav.loc["fresh_food_family"].idxmax() == "fresh_food"
    frequent = alive["rate_per_year"] > alive["rate_per_year"].median()
    sleeping = alive["response_type"].eq("sleeping_dog")
    assert sleeping[frequent].mean() > sleeping[~frequent].mean()


def test_outcomes_follow_the_truth_row_by_row(data: SynthData) -> None:
    loop = run_loop(data, {"cross_sell": 0.5, "retention": 0.5}, seed=3)
    rows = loop.responses
    assert rows["matured"].all()
    p = rows["expected_response"].where(rows["group"] == "treated")
    truth_p = np.where(rows["group"] == "treated", p, p)  # treated: expectations are right
    for (offer, group), part in rows.groupby(["offer_id", "group"]):
        if group == "treated":
            mean_p = part["expected_response"].mean()
        else:
            mean_p = (part["expected_response"] - loop.true_effect[part.index]).mean()
        se = np.sqrt(mean_p * (1 - mean_p) / len(part))
        assert abs(part["responded"].mean() - mean_p) < 4 * se, (offer, group)
    assert len(truth_p) == len(rows)
    fed = rows[rows["group"] == "treated"]
    assert (
        fed["feedback"].notna().all()
        and rows.loc[rows["group"] == "control", "feedback"].isna().all()
    )
    bought = fed["feedback"].isin(["accepted", "clicked"])
    assert (bought == fed["responded"]).mean() > 0.97  # a few buy on another offer's row


def test_outcomes_are_deterministic_by_seed(data: SynthData) -> None:
    loop = run_loop(data, {"cross_sell": 0.2}, seed=1)
    clean = validate(data.transactions, data.customers, now=pd.Timestamp("2100-01-01"))
    truth = data.ground_truth_responses
    a = simulate_outcomes(loop.decisions, truth, clean.transactions, seed=1)
    b = simulate_outcomes(loop.decisions, truth, clean.transactions, seed=1)
    c = simulate_outcomes(loop.decisions, truth, clean.transactions, seed=2)
    pd.testing.assert_frame_equal(a.purchases, b.purchases)
    pd.testing.assert_frame_equal(a.feedback, b.feedback)
    assert not a.purchases["ts"].equals(c.purchases["ts"])


def _write_truth_decisions(data: SynthData, folder: Path, when: pd.Timestamp) -> int:
    frame = expected_frame(data.ground_truth_responses)
    records = build_decisions(frame, OFFERS, {"cross_sell": 0.2, "retention": 0.2}, when)
    write_decisions(records, folder)
    return len(records)


def test_simulate_responses_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path / "home"))
    from training.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    src, out = tmp_path / "synth", tmp_path / "after"
    assert runner.invoke(cli, ["synth", "--customers", "400", "--out", str(src)]).exit_code == 0
    data = SynthData(*(pd.read_parquet(src / f"{n}.parquet") for n in (
        "transactions", "customers", "ground_truth", "ground_truth_responses")))  # fmt: skip
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    n = _write_truth_decisions(data, tmp_path / "home" / "decisions", now)
    args = ["simulate-responses", "--data", str(src), "--out", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1 and "--at data-end" in result.output, result.output
    result = runner.invoke(cli, [*args, "--at", "data-end", "--drift", "0.5", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "transactions.parquet", "customers.parquet", "ground_truth.parquet",
        "ground_truth_responses.parquet", "decisions",
    }  # fmt: skip
    tx = pd.read_parquet(out / "transactions.parquet")
    clean = validate(tx, pd.read_parquet(out / "customers.parquet"))
    assert clean.report.issues == []  # valid under the data contract
    assert tx.dtypes.equals(data.transactions.dtypes)
    old = data.transactions
    assert len(tx) > len(old)
    new = tx[tx["ts"] > old["ts"].max()]
    assert len(new) == len(tx) - len(old)
    # re-timed log: same decisions, the first on the day after the data ends
    replayed = read_decisions(out / "decisions")
    assert replayed.attrs["records"] == n
    assert replayed["ts"].min() == old["ts"].max().normalize() + pd.Timedelta(days=1)
    # the folder says it is complete to the last response window's end
    covers = pd.Timestamp(read_metadata(out / "transactions.parquet")["cintel.data_end"])
    assert covers == replayed["ts"].max() + pd.Timedelta(days=30) >= tx["ts"].max()
    assert set(replayed["decision_id"]) == set(
        read_decisions(tmp_path / "home" / "decisions")["decision_id"]
    )
    fb_lines = [orjson.loads(x) for f in sorted((tmp_path / "home" / "feedback").glob("*.jsonl"))
                for x in f.read_bytes().splitlines()]  # fmt: skip
    assert set(fb_lines[0]) == {
        "decision_id",
        "offer_id",
        "outcome",
        "ts",
        "customer_id",
        "channel",
    }
    fb = read_feedback(tmp_path / "home" / "feedback")
    assert set(fb["outcome"]) <= {"accepted", "declined", "clicked", "ignored"}
    assert set(fb["decision_id"]) <= set(replayed["decision_id"])
    truth = pd.read_parquet(out / "ground_truth_responses.parquet")
    assert read_metadata(out / "ground_truth_responses.parquet")["cintel.drift"] == "0.5"
    np.testing.assert_allclose(
        truth["p_buy_treated"], data.ground_truth_responses["p_buy_treated"] * 0.5
    )
    get_settings.cache_clear()


def test_simulate_responses_needs_a_simulated_folder(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    result = CliRunner().invoke(
        cli,
        [
            "simulate-responses",
            "--data",
            str(tmp_path / "d"),
            "--out",
            str(tmp_path / "o"),
            "--decisions",
            str(tmp_path / "none"),
        ],
    )
    assert result.exit_code == 1 and "ground_truth_responses.parquet" in result.output
