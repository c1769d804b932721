"""Cells and micro-segments through the product: upgrade and win-back lists, eligibility by
micro-segment and lifecycle stage, the campaigns breakdown (hand-built tables), and a real
publish with a cintel-potential champion and a cells.yaml (store, meta, /profile, CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from monitoring.campaigns import campaign_report
from monitoring.entry import cli
from serving.batch.targets import campaign_targets
from serving.catalogue import CatalogueError, parse_catalogue
from serving.offer_table import MICRO_SEGMENT, OK, STAGE, offer_table
from serving.profile import build_profile, render_profile
from serving.schemas import ProfileAnswer
from serving.settings import get_service_settings
from tests.serving.own_home import home_beside
from training.data.contract import CleanData
from training.economics.cells_config import STRATEGIES

NAN = np.nan
CATALOGUE = parse_catalogue(
    {
        "offers": [
            {"id": "voucher", "kind": "retention", "save_rate": 0.2, "cost": 1.0},
            {
                "id": "winback",
                "kind": "retention",
                "save_rate": 0.1,
                "cost": 5.0,
                "eligible": {"stages": ["lapsed"]},
            },
            {"id": "xs_wine", "kind": "cross_sell", "family": "wine", "value": 20.0, "cost": 2.0},
            {"id": "up", "kind": "up_sell", "value": 10.0, "accept_rate": 0.5, "cost": 0.0},
            {
                "id": "xs_wine_web_gold",
                "kind": "cross_sell",
                "family": "wine",
                "value": 30.0,
                "cost": 2.0,
                "eligible": {"micro_segments": ["wine/gold/active/web"]},
            },
        ]
    }
)

PROFILES = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "churn_probability": [0.1, 0.2, 0.3, 0.9, 0.95, 0.6],
        "clv_12m": [500.0, 300.0, 100.0, 10.0, 5.0, 50.0],
        "value_tier": ["gold", "silver", "bronze", "value_destroyer", "value_destroyer", "gold"],
        "segment_id": ["wine"] * 6,
        "propensity_any__wine": [0.5, 0.2, 0.9, 0.1, 0.1, 0.4],
        "propensity_first__wine": [NAN] * 6,
        "fam_count__wine": [1] * 6,
        "lifecycle_stage": ["active", "active", "developing", "lapsed", "lapsed", "lapsed"],
        "potential_value_12m": [900.0, 400.0, 300.0, 600.0, 40.0, NAN],
        "potential_headroom": [100.0, 300.0, 50.0, 600.0, 40.0, NAN],
        "spend_365d": [800.0, 100.0, 250.0, 0.0, 0.0, 200.0],
        "cell_strategy": ["retain", "develop", "maintain", "develop", "develop", "retain"],
        "micro_segment": ["wine/gold/active/web", "wine/*/*/*", "wine/*/*/*"] + ["*/*/*/*"] * 3,
    }
)


def test_upgrade_ranks_headroom_times_the_best_offers_response() -> None:
    got = campaign_targets(PROFILES, "upgrade", 10, CATALOGUE)
    # candidates: headroom > 0 and a positive cross-sell or up-sell offer.
    # a: best xs_wine_web_gold (0.5 x 30 - 2 = 13; its micro-segment) -> 100 x 0.5 = 50
    # b: best xs_wine 0.2 x 20 - 2 = 2 vs up 0.5 x 0.8 x 10 = 4 -> up, 300 x 0.4 = 120
    # c: xs_wine 0.9 x 20 - 2 = 16 -> 50 x 0.9 = 45
    # d: up 0.5 x 0.1 x 10 = 0.5 > xs_wine 0.1 x 20 - 2 = 0 -> 600 x 0.05 = 30
    # e: up 0.5 x 0.05 x 10 = 0.25 -> 40 x 0.025 = 1; f has no headroom
    assert got["customer_id"].tolist() == ["b", "a", "c", "d", "e"]
    assert got["offer_id"].tolist() == ["up", "xs_wine_web_gold", "xs_wine", "up", "up"]
    np.testing.assert_allclose(got["score"], [120.0, 50.0, 45.0, 30.0, 1.0])
    assert got["reasons"].iloc[0].startswith("headroom 300 a year × 40% expected response")
    assert got["micro_segment"].iloc[1] == "wine/gold/active/web"
    develop = campaign_targets(PROFILES, "upgrade", 10, CATALOGUE, strategies=["develop"])
    assert develop["customer_id"].tolist() == ["b", "d", "e"]
    assert set(develop["cell_strategy"]) == {"develop"}


def test_win_back_lists_lapsed_customers_worth_it() -> None:
    got = campaign_targets(PROFILES, "win-back", 10, CATALOGUE)
    # lapsed: d (potential 600), e (40), f (no potential: last year's spend 200).
    # d: voucher 0.2 x 600 - 1 = 119 beats winback 0.1 x 600 - 5 = 55; f: 0.2 x 200 - 1
    # = 39; e: 0.2 x 40 - 1 = 7
    assert got["customer_id"].tolist() == ["d", "f", "e"]
    np.testing.assert_allclose(got["score"], [119.0, 39.0, 7.0])
    np.testing.assert_allclose(got["expected_value"], [119.0, 39.0, 7.0])
    assert got["offer_id"].tolist() == ["voucher"] * 3
    assert "lapsed, worth 600 a year (potential)" in got["reasons"].iloc[0]
    assert "(spend of the last 12 months)" in got["reasons"].iloc[1]
    assert campaign_targets(PROFILES, "win-back", 10, CATALOGUE, min_value=100.0)[
        "customer_id"
    ].tolist() == ["d", "f"]
    # only the win-back offer: the customers it is worth it for
    only = parse_catalogue({"offers": [CATALOGUE.offers[1].model_dump(exclude={"campaign"})]})
    got = campaign_targets(PROFILES, "win-back", 10, only)
    assert got["customer_id"].tolist() == ["d", "f"]  # e: 0.1 x 40 - 5 < 0
    np.testing.assert_allclose(got["score"], [55.0, 15.0])


def test_value_campaigns_say_what_the_store_lacks() -> None:
    bare = PROFILES.drop(columns=["potential_headroom", "lifecycle_stage", "cell_strategy"])
    with pytest.raises(ValueError, match="train cintel-potential"):
        campaign_targets(bare, "upgrade", 10, CATALOGUE)
    with pytest.raises(ValueError, match="lifecycle stages"):
        campaign_targets(bare, "win-back", 10, CATALOGUE)
    with pytest.raises(ValueError, match="--strategy needs the cells"):
        campaign_targets(bare, "retention", 10, CATALOGUE, strategies=["retain"])


def test_eligibility_by_micro_segment_and_lifecycle_stage() -> None:
    columns = {c: PROFILES[c].to_numpy() for c in PROFILES.columns}
    table = offer_table(columns, CATALOGUE, len(PROFILES))
    web_gold = [o.id for o in CATALOGUE.offers].index("xs_wine_web_gold")
    winback = [o.id for o in CATALOGUE.offers].index("winback")
    assert table.blocked[:, web_gold].tolist() == [OK] + [MICRO_SEGMENT] * 5
    assert table.blocked[:, winback].tolist() == [STAGE] * 3 + [OK] * 3
    # the stage the answer shows: active with churn 0.7 or more is at risk
    at_risk = parse_catalogue(
        {
            "offers": [
                {
                    "id": "r",
                    "kind": "retention",
                    "save_rate": 0.1,
                    "eligible": {"stages": ["at risk"]},
                }
            ]
        }
    )
    cols = {
        "churn_probability": np.array([0.8, 0.2]),
        "clv_12m": np.array([10.0, 10.0]),
        "lifecycle_stage": np.array(["active"] * 2),
    }
    assert offer_table(cols, at_risk, 2).blocked[:, 0].tolist() == [OK, STAGE]
    for bad, message in (
        (["wine/gold"], "must be <segment>/<tier>/<stage>/<channel>"),
        (["wine//active/web"], "4 parts"),
    ):
        offer = {"id": "x", "kind": "up_sell", "value": 1.0, "accept_rate": 0.1}
        with pytest.raises(CatalogueError, match=r"offer 'x'.*eligible\.micro_segments") as info:
            parse_catalogue({"offers": [{**offer, "eligible": {"micro_segments": bad}}]})
        assert message in str(info.value)
    with pytest.raises(CatalogueError, match=r"eligible\.stages"):
        parse_catalogue(
            {
                "offers": [
                    {
                        "id": "x",
                        "kind": "retention",
                        "save_rate": 0.1,
                        "eligible": {"stages": ["gone"]},
                    }
                ]
            }
        )


def test_campaigns_report_breaks_down_by_micro_segment() -> None:
    n = 40
    rows = pd.DataFrame(
        {
            "decision_id": [f"d{i}" for i in range(2 * n)],
            "ts": pd.Timestamp("2026-01-01"),
            "customer_id": [str(i) for i in range(2 * n)],
            "channel": "web",
            "campaign": "retention",
            "offer_id": "voucher",
            "family": None,
            "kind": "retention",
            "group": ["treated"] * n + ["control"] * n,
            "expected_response": 0.2,
            "expected_value": 1.0,
            "response_window_days": 30.0,
            "responded": np.arange(2 * n) % 4 == 0,
            "response_margin": np.where(np.arange(2 * n) % 4 == 0, 10.0, 0.0),
            "matured": True,
            "feedback": None,
        }
    )
    profiles = pd.DataFrame(
        {
            "customer_id": np.arange(2 * n),
            "value_tier": "gold",
            "segment": "wine",
            "micro_segment": np.where(np.arange(2 * n) % 2 == 0, "wine/gold/*/*", "*/*/*/*"),
        }
    )
    report = campaign_report(rows, {}, profiles)
    micro = report[report["breakdown"] == "micro_segment"].set_index("level")
    assert micro["treated"].to_dict() == {"*/*/*/*": 20, "wine/gold/*/*": 20}
    assert micro["control"].sum() == n
    # every 4th responded: all of them are even ids, in wine/gold/*/*
    assert micro.loc["wine/gold/*/*", "response_rate_treated"] == 0.5
    assert micro.loc["*/*/*/*", "response_rate_treated"] == 0.0
    older = campaign_report(rows, {}, profiles.drop(columns=["micro_segment"]))
    assert "micro_segment" not in set(older["breakdown"])


CELLS = """\
potential: {measure: headroom, high: 0.25, medium: 0.25}
strategies:
  bronze: {high: develop, medium: develop}
micro_segments: {min_size: 15}
"""


@pytest.fixture(scope="module")
def cells_home(
    trained_home: tuple[Path, CleanData], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, CleanData]:
    """The trained home's registry plus a cintel-potential champion, materialized through
    ``cintel materialize`` from a data folder with a cells.yaml."""
    source, data = trained_home
    home = tmp_path_factory.mktemp("cells-home")
    with home_beside(source, data, home, {"cells.yaml": CELLS}, ["potential"]) as folder:
        out = CliRunner().invoke(cli, ["materialize", "--data", str(folder)])
        assert out.exit_code == 0, out.output
    return home, folder, data


def test_store_and_profile_carry_cells_and_micro_segments(
    cells_home: tuple[Path, Path, CleanData],
) -> None:
    import json

    home, folder, _ = cells_home
    store = pd.read_parquet(home / "store" / "profiles.parquet")
    meta = json.loads((home / "store" / "meta.json").read_text())
    cells = meta["cells"]
    assert cells["config"]["source"] == str(folder / "cells.yaml")
    assert cells["config"]["min_size"] == 15
    # potential levels: a quarter high, a quarter medium of those with a potential
    share = store["potential_level"].value_counts(normalize=True)
    assert share["high"] == pytest.approx(0.25, abs=0.03)
    assert share["medium"] == pytest.approx(0.25, abs=0.03)
    tier, level, seg = (store["cell"].str.split("/", expand=True)[i] for i in range(3))
    assert (tier == store["value_tier"]).all() and (level == store["potential_level"]).all()
    assert (seg == store["segment_id"]).all()
    assert set(store["cell_strategy"]) <= set(STRATEGIES)
    bronze_high = (store["value_tier"] == "bronze") & (store["potential_level"] == "high")
    assert bronze_high.any() and (store.loc[bronze_high, "cell_strategy"] == "develop").all()
    # micro-segments: every one but the catch-all has at least min_size customers
    sizes = store["micro_segment"].value_counts()
    assert sizes.to_dict() == cells["micro_sizes"]
    assert (sizes.drop("*/*/*/*", errors="ignore") >= 15).all()
    assert sizes.sum() == len(store) and len(sizes) > 2
    fine = store["micro_segment"].str.split("/", expand=True)
    kept = fine[0] != "*"
    assert (fine.loc[kept, 0] == store.loc[kept, "segment_id"]).all()

    row = {str(k): v for k, v in store.iloc[0].to_dict().items()}
    profile = build_profile(row)
    assert profile["cell"] == {
        "id": row["cell"],
        "value": row["value_tier"],
        "potential": row["potential_level"],
        "needs": row["segment_id"],
        "strategy": row["cell_strategy"],
    }
    assert profile["micro_segment"] == {"id": row["micro_segment"]}
    answer = render_profile(row)[:-1] + (
        b',"held_out":[],"ranking":{},"model_versions":{},"cold_start":false,'
        b'"offers":[],"decision_id":null}'
    )
    ProfileAnswer.model_validate_json(answer)
    # a store from before the cells: nulls, still a valid answer
    old = {k: v for k, v in row.items() if k not in ("cell", "cell_strategy", "potential_level")}
    assert build_profile(old)["cell"]["id"] is None


def test_targets_commands_for_upgrade_and_win_back(
    cells_home: tuple[Path, Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _, _ = cells_home
    monkeypatch.setenv("CINTEL_HOME", str(home))
    monkeypatch.setenv("CINTEL_DECISIONS", "off")
    get_service_settings.cache_clear()
    try:
        up = CliRunner().invoke(
            cli,
            ["targets", "--campaign", "upgrade", "--top", "20", "--out", str(tmp_path / "u.csv")],
        )
        assert up.exit_code == 0, up.output
        lst = pd.read_csv(tmp_path / "u.csv")
        assert 0 < len(lst) <= 20 and lst["score"].is_monotonic_decreasing
        assert set(lst["offer_id"].map(lambda o: o.startswith(("xs_", "upsell_")))) == {True}
        back = CliRunner().invoke(
            cli,
            ["targets", "--campaign", "win-back", "--top", "50", "--out", str(tmp_path / "w.csv"),
             "--min-value", "1"],
        )  # fmt: skip
        assert back.exit_code == 0, back.output
        store = pd.read_parquet(home / "store" / "profiles.parquet")
        stage = store.set_index(store["customer_id"].astype(str))["lifecycle_stage"]
        wb = pd.read_csv(tmp_path / "w.csv", dtype={"customer_id": str})
        assert len(wb) > 0
        assert (stage.loc[wb["customer_id"]] == "lapsed").all()
        assert wb["reasons"].str.startswith("lapsed since").all()
        dev = CliRunner().invoke(
            cli,
            ["targets", "--campaign", "retention", "--strategy", "retain", "--strategy", "develop",
             "--top", "30", "--out", str(tmp_path / "r.csv")],
        )  # fmt: skip
        assert dev.exit_code == 0, dev.output
        assert set(pd.read_csv(tmp_path / "r.csv")["cell_strategy"]) <= {"retain", "develop"}
    finally:
        get_service_settings.cache_clear()


def test_bad_cells_yaml_stops_materialize_naming_the_key(
    cells_home: tuple[Path, Path, CleanData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, folder, _ = cells_home
    bad = tmp_path / "data"
    shutil.copytree(folder, bad)
    (bad / "cells.yaml").write_text("strategies: {gold: {high: grow}}\n")
    monkeypatch.setenv("CINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    get_service_settings.cache_clear()
    result = CliRunner().invoke(cli, ["materialize", "--data", str(bad)])
    get_service_settings.cache_clear()
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "strategies.gold.high must be one of" in text and "cells.yaml" in text
    assert not (tmp_path / "home" / "store").exists()


def test_rows_scored_after_a_publish_are_placed_by_its_cuts_and_merges() -> None:
    from serving.batch.materialize_cells import cells_of_rows, with_cells
    from training.economics.cells_config import CellsConfig

    n = 40
    profiles = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(n)],
            "value_tier": ["gold"] * 30 + ["bronze"] * 10,
            "segment_id": ["wine"] * 30 + ["bulk"] * 10,
            "lifecycle_stage": ["active"] * n,
            "potential_headroom": np.arange(n, dtype=float),
            "share_of_wallet": np.linspace(0, 1, n),
        }
    )
    features = pd.DataFrame({"chan_share__web": np.ones(n)})
    published, meta = with_cells(profiles, features, CellsConfig(min_size=20))
    assert meta["micro_sizes"] == {"wine/gold/active/web": 30, "*/*/*/*": 10}
    assert meta["potential_cuts"] == [32.0, 20.0]
    # customer 39 (headroom 39: high) is re-scored by a new segments model into wine, gold
    row = {**profiles.iloc[39].to_dict(), "segment_id": "wine", "value_tier": "gold"}
    (moved,) = cells_of_rows([row], features.iloc[[39]], meta)
    assert (moved["cell"], moved["cell_strategy"]) == ("gold/high/wine", "develop")
    assert moved["micro_segment"] == "wine/gold/active/web"
    # a fine cell the publish did not have joins the first published bucket up
    row = {**row, "segment_id": "beer"}
    (new,) = cells_of_rows([row], features.iloc[[39]], meta)
    assert new["micro_segment"] == "*/*/*/*" and new["cell"] == "gold/high/beer"
    # a store published before the cells: rows as they are
    assert cells_of_rows([dict(row)], features.iloc[[39]], None) == [row]
    assert published["micro_segment"].iloc[0] == "wine/gold/active/web"
