"""The campaigns report: intervals, figures and sentences on hand tables, coverage of the
true lift and actual vs expected on the simulator, and `cintel campaigns` end to end."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from monitoring.campaigns import COLUMNS, campaign_report, newcombe, wilson
from monitoring.entry import cli
from tests.loop import COSTS, OFFERS, expected_frame, run_loop, world
from training.data.outcomes import RESPONSE_COLUMNS
from training.data.simulator.decisions import build_decisions, write_decisions
from training.data.simulator.simulate import SynthData
from training.settings import Settings

Z95 = 1.959963984540054
REQUIRED = [
    "campaign", "offer_id", "treated", "control", "response_rate_treated",
    "response_rate_control", "expected_response_rate", "actual_vs_expected", "lift",
    "lift_ci_low", "lift_ci_high", "incremental_margin", "roi",
]  # fmt: skip


# --- intervals against published values ------------------------------------------------------


def test_wilson_and_newcombe_reproduce_newcombe_1998() -> None:
    lo, hi = wilson(np.array([81]), np.array([263]), Z95)
    assert (round(lo[0], 4), round(hi[0], 4)) == (0.2553, 0.3662)  # Newcombe (1998a)
    # Newcombe (1998b) Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10
    lo, hi = newcombe(np.array([56, 9]), np.array([70, 10]), np.array([48, 3]),
                      np.array([80, 10]), Z95)  # fmt: skip
    assert np.round(lo, 4).tolist() == [0.0524, 0.1705]
    assert np.round(hi, 4).tolist() == [0.3339, 0.8090]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi = newcombe(np.array([0]), np.array([0]), np.array([1]), np.array([5]), Z95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])


# --- hand tables -----------------------------------------------------------------------------


def _rows(campaign: str, offer: str, group: str, n: int, responders: int,
          expected: float = 0.2, margin: float = 10.0, matured: bool = True,
          channel: str = "web", first_id: int = 0) -> pd.DataFrame:  # fmt: skip
    ids = [str(first_id + i) for i in range(n)]
    return pd.DataFrame(
        {
            "decision_id": [f"{offer}-{group}-{i}" for i in ids],
            "ts": pd.Timestamp("2026-01-01"),
            "customer_id": ids,
            "channel": channel,
            "campaign": campaign,
            "offer_id": offer,
            "family": None,
            "kind": "retention",
            "group": group,
            "expected_response": expected,
            "expected_value": 1.0,
            "response_window_days": 30.0,
            "responded": np.arange(n) < responders,
            "response_margin": np.where(np.arange(n) < responders, margin, 0.0),
            "matured": matured,
            "feedback": None,
        }
    )[RESPONSE_COLUMNS]


def _hand() -> pd.DataFrame:
    return pd.concat(
        [
            _rows("A", "a1", "treated", 60, 20, channel="web"),
            _rows("A", "a1", "treated", 40, 10, channel="store", first_id=60),
            _rows("A", "a1", "control", 100, 10, first_id=100),
            _rows("A", "a1", "treated", 5, 5, matured=False, first_id=200),  # not yet
            _rows("B", "b1", "treated", 50, 5),
            _rows("C", "c1", "treated", 100, 20),
            _rows("C", "c1", "control", 10, 1, first_id=100),
            _rows("D", "free", "treated", 200, 40, expected=0.1),
            _rows("D", "free", "control", 200, 40, first_id=200),
        ],
        ignore_index=True,
    )


def test_report_figures_and_sentences_on_a_hand_table() -> None:
    costs = {"a1": 2.0, "b1": 1.0, "c1": 1.0, "free": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero anywhere
        report = campaign_report(_hand(), costs)
    assert list(report.columns) == [c for c in COLUMNS if c != "true_lift"]
    overall = report[report["breakdown"] == "all"].set_index("offer_id")
    a = overall.loc["a1"]
    assert (a["treated"], a["control"]) == (100, 100)  # the immature rows do not count
    assert a["response_rate_treated"] == 0.3 and a["response_rate_control"] == 0.1
    assert a["expected_response_rate"] == pytest.approx(0.2)
    assert a["actual_vs_expected"] == pytest.approx(1.5)
    lo, hi = wilson(np.array([30]), np.array([100]), Z95)
    assert a["actual_vs_expected_ci_low"] == pytest.approx(lo[0] / 0.2)
    assert a["actual_vs_expected_ci_high"] == pytest.approx(hi[0] / 0.2)
    assert a["lift"] == pytest.approx(0.2)
    lo, hi = newcombe(np.array([30]), np.array([100]), np.array([10]), np.array([100]), Z95)
    assert (a["lift_ci_low"], a["lift_ci_high"]) == (pytest.approx(lo[0]), pytest.approx(hi[0]))
    assert a["incremental_margin"] == pytest.approx((3.0 - 1.0) * 100)
    assert a["cost"] == 200.0 and a["roi"] == pytest.approx(0.0)
    assert a["verdict"] == (
        f"lift 20.0 points, 95 % CI {100 * lo[0]:.1f}–{100 * hi[0]:.1f}: the offer works"
    )
    assert a["expectation"].endswith("above expectations")
    b = overall.loc["b1"]
    assert b["verdict"] == "lift unknown: no control group"
    assert np.isnan(b["lift"]) and np.isnan(b["lift_ci_low"]) and np.isnan(b["roi"])
    assert np.isnan(b["incremental_margin"]) and b["cost"] == 50.0
    assert overall.loc["c1", "verdict"] == "control too small to say (10 in control, 30 needed)"
    d = overall.loc["free"]
    assert d["lift"] == 0.0 and np.isnan(d["roi"]) and d["cost"] == 0.0
    assert d["verdict"].endswith(": no clear effect") and "CI -" in d["verdict"]
    assert d["expectation"].endswith("above expectations")
    by_channel = report[(report["breakdown"] == "channel") & (report["offer_id"] == "a1")]
    assert by_channel.set_index("level")["treated"].to_dict() == {"store": 40, "web": 60}
    assert by_channel.set_index("level")["control"].to_dict() == {"store": 0, "web": 100}
    assert set(report["breakdown"]) == {"all", "channel"}  # no store: no tier, no segment


def test_report_breaks_down_by_tier_and_segment_from_the_store() -> None:
    rows = _hand()
    ids = rows["customer_id"].unique()
    profiles = pd.DataFrame(
        {
            "customer_id": ids.astype(int),  # the store may keep integer ids
            "value_tier": np.where(ids.astype(int) % 2 == 0, "gold", "silver"),
            "segment": "loyal",
        }
    )
    report = campaign_report(rows, {}, profiles[profiles["customer_id"] != 5])
    tiers = report[(report["breakdown"] == "value_tier") & (report["offer_id"] == "a1")]
    assert set(tiers["level"]) == {"gold", "silver", "unknown"}
    assert tiers["treated"].sum() == 100
    assert set(report.loc[report["breakdown"] == "segment", "level"]) == {"loyal", "unknown"}
    assert report["cost"].isna().all() and report["roi"].isna().all()  # no catalogue costs


def test_report_of_nothing_matured_is_empty() -> None:
    rows = _hand().assign(matured=False)
    assert campaign_report(rows).empty


# --- the simulator: coverage and actual vs expected ------------------------------------------


@pytest.fixture(scope="module")
def data() -> SynthData:
    return world(4000, seed=11)


SEEDS = (0, 1, 2, 3, 4)


def test_interval_covers_the_true_lift_over_seeds(data: SynthData) -> None:
    judged, covered, as_expected, n_expected = 0, 0, 0, 0
    for seed in SEEDS:
        loop = run_loop(data, {"cross_sell": 0.3, "retention": 0.3}, seed,
                        campaign_suffix=f"_{seed}")  # fmt: skip
        report = campaign_report(loop.responses, COSTS, true_effect=loop.true_effect)
        big = report[(report["treated"] >= 200) & (report["control"] >= 200)]
        judged += len(big)
        covered += int(
            (
                (big["lift_ci_low"] <= big["true_lift"]) & (big["true_lift"] <= big["lift_ci_high"])
            ).sum()
        )
        enough = report[report["treated"] >= 200]
        n_expected += len(enough)
        as_expected += int(
            ((enough["actual_vs_expected_ci_low"] <= 1)
             & (enough["actual_vs_expected_ci_high"] >= 1)).sum()
        )  # fmt: skip
    assert judged >= 100  # 7 offers x (all + 3 channels) x 5 seeds
    assert covered / judged >= 0.9, (covered, judged)
    assert as_expected / n_expected >= 0.9, (as_expected, n_expected)


def test_actual_vs_expected_breaks_after_drift(data: SynthData) -> None:
    loop = run_loop(data, {"cross_sell": 0.3, "retention": 0.3}, seed=7, drift=0.6)
    report = campaign_report(loop.responses, COSTS, true_effect=loop.true_effect)
    enough = report[report["treated"] >= 200]
    below = (enough["actual_vs_expected_ci_high"] < 1).mean()
    assert below >= 0.9, enough[["offer_id", "level", "actual_vs_expected"]]
    assert (enough["expectation"].str.endswith("below expectations")).mean() >= 0.9
    # the lift is still measured against the (drifted) truth
    big = report[(report["treated"] >= 200) & (report["control"] >= 200)]
    inside = (big["lift_ci_low"] <= big["true_lift"]) & (big["true_lift"] <= big["lift_ci_high"])
    assert inside.mean() >= 0.85


def test_lift_unknown_without_control(data: SynthData) -> None:
    loop = run_loop(data, {"cross_sell": 0.0, "retention": 0.1}, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = campaign_report(loop.responses, COSTS, true_effect=loop.true_effect)
    cross = report[report["campaign"] == "cross_sell"]
    assert (cross["control"] == 0).all() and len(cross) > 0
    assert (cross["verdict"] == "lift unknown: no control group").all()
    assert cross[["lift", "lift_ci_low", "lift_ci_high", "roi"]].isna().all().all()
    assert cross["true_lift"].notna().all()
    retention = report[(report["campaign"] == "retention") & (report["breakdown"] == "all")]
    assert retention["lift"].notna().all()


# --- the command -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_service_settings() -> Iterator[None]:
    """`cintel campaigns` reads the service settings (the catalogue path): read them anew."""
    from serving.settings import get_service_settings

    get_service_settings.cache_clear()
    yield
    get_service_settings.cache_clear()


def test_campaigns_command_end_to_end(tmp_path: Path, mlflow_home: Settings) -> None:
    runner = CliRunner()
    src, after = tmp_path / "synth", tmp_path / "after"
    assert runner.invoke(cli, ["synth", "--customers", "600", "--out", str(src)]).exit_code == 0
    truth = pd.read_parquet(src / "ground_truth_responses.parquet")
    offers = tuple(o for o in OFFERS if o.offer_id in {"xs_wine", "retain_voucher"})
    real = {"xs_wine": "xs_wine_intro", "retain_voucher": "retain_voucher"}  # catalogue ids
    frame = expected_frame(truth, offers).rename(
        columns=lambda c: c.replace("xs_wine", "xs_wine_intro")
    )
    from training.data.simulator.decisions import OfferSpec

    offers = tuple(OfferSpec(real[o.offer_id], o.kind, o.family, o.value) for o in offers)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    write_decisions(build_decisions(frame, offers, {"cross_sell": 0.3}, now),
                    mlflow_home.home / "decisions")  # fmt: skip
    sim = runner.invoke(cli, ["simulate-responses", "--data", str(src), "--out", str(after),
                              "--at", "data-end"])  # fmt: skip
    assert sim.exit_code == 0, sim.output
    store = mlflow_home.home / "store"
    store.mkdir()
    pd.DataFrame(
        {"customer_id": [str(i) for i in range(1, 601)], "value_tier": "gold", "segment": "loyal"}
    ).to_parquet(store / "profiles.parquet")
    result = runner.invoke(
        cli, ["campaigns", "--data", str(after), "--decisions", str(after / "decisions")]
    )
    assert result.exit_code == 0, result.output
    assert "xs_wine_intro" in result.output and "report:" in result.output
    (folder,) = (mlflow_home.reports_dir / "campaigns").iterdir()
    report = pd.read_csv(folder / "campaigns.csv")
    assert set([*REQUIRED, "true_lift", "breakdown", "level", "verdict"]) <= set(report.columns)
    assert set(report["breakdown"]) == {"all", "channel", "value_tier", "segment"}
    overall = report[report["breakdown"] == "all"].set_index("offer_id")
    # every decision counts: the simulated folder says it is complete to the last window
    assert (overall["treated"] + overall["control"] == 600).all()
    assert overall.loc["xs_wine_intro", "cost"] == pytest.approx(
        1.5 * overall.loc["xs_wine_intro", "treated"]
    )  # the catalogue's cost
    assert overall.loc["retain_voucher", "verdict"] == "lift unknown: no control group" or (
        overall.loc["retain_voucher", "control"] > 0
    )
    html = (folder / "campaigns.html").read_text()
    assert "xs_wine_intro" in html and "Newcombe" in html
    index = (mlflow_home.reports_dir / "index.html").read_text()
    assert f"campaigns/{folder.name}/campaigns.html" in index
    client = MlflowClient()
    experiment = client.get_experiment_by_name("cintel-campaigns")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    metrics = run.data.metrics
    assert metrics["cross_sell.xs_wine_intro.treated"] == overall.loc["xs_wine_intro", "treated"]
    assert "cross_sell.xs_wine_intro.channel.web.lift" in metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"campaigns.csv", "campaigns.html"}


def test_campaigns_without_decisions_says_so(tmp_path: Path, mlflow_home: Settings) -> None:
    result = CliRunner().invoke(cli, ["campaigns", "--data", str(tmp_path)])
    assert result.exit_code == 1 and "no decision records" in result.output
