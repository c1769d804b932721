"""Cells (value x potential x needs), strategies, cells.yaml and micro-segments on
hand-built tables with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.economics.cell_table import cell_summary, cell_table
from training.economics.cells import (
    merged_of,
    micro_segments,
    potential_cuts,
    potential_levels,
    preferred_channel,
)
from training.economics.cells_config import (
    TIERS,
    CellsConfig,
    CellsError,
    cells_from_json,
    cells_to_json,
    load_cells,
    parse_cells,
)

NAN = np.nan


def test_tier_names_are_the_segments_models() -> None:
    from training.segments.config import TIERS as MODEL_TIERS

    assert TIERS == MODEL_TIERS


def test_potential_levels_by_shares_ties_go_up_and_no_headroom_is_low() -> None:
    # 10 customers with a potential: top 20 % (2) high, next 30 % (3) medium, 5 low
    headroom = np.array([10.0, 9, 8, 7, 6, 5, 4, 3, 2, 0, NAN])
    cuts = potential_cuts(headroom, CellsConfig())
    assert cuts == (9.0, 6.0)
    got = potential_levels(headroom, cuts, "headroom").tolist()
    assert got == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5 + ["unknown"]
    # a tie at the high cut: both high
    tied = np.array([5.0, 5.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    levels = potential_levels(tied, potential_cuts(tied, CellsConfig()), "headroom")
    assert levels.tolist()[:3] == ["high"] * 3
    # nobody has headroom: everyone low, even at the cut
    zero = np.zeros(5)
    assert set(potential_levels(zero, potential_cuts(zero, CellsConfig()), "headroom")) == {"low"}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": list("abcdefghij"),
            "value_tier": [
                *("platinum", "platinum", "gold", "silver", "silver"),
                *("bronze", "bronze", "value_destroyer", "value_destroyer", "gold"),
            ],
            "segment_id": ["wine"] * 5 + ["bulk"] * 5,
            "lifecycle_stage": [
                *("active", "active", "active", "lapsed", "new"),
                *("active", "at risk", "lapsed", "lapsed", "won back"),
            ],
            "churn_probability": [0.1, 0.9, 0.2, 0.95, 0.1, 0.2, 0.8, 0.9, 0.9, 0.75],
            "potential_headroom": [100.0, 5, 50, 90, 1, 80, 2, 70, 0, NAN],
            "share_of_wallet": [0.5, 0.95, 0.7, 0.1, 0.99, 0.3, 0.9, 0.2, 1.0, NAN],
        }
    )


def test_cells_and_strategies_of_hand_built_customers() -> None:
    frame = _frame()
    channel = np.array(["web"] * 10, dtype=object)
    out, state = cell_table(frame, channel, CellsConfig(min_size=1))
    # 9 with a potential: 2 high (100, 90), next 3 medium (80, 70, 50), rest low
    assert out["potential_level"].tolist() == [
        "high", "low", "medium", "high", "low", "medium", "low", "medium", "low", "unknown",
    ]  # fmt: skip
    assert out["cell"].tolist()[:4] == [
        "platinum/high/wine",
        "platinum/low/wine",
        "gold/medium/wine",
        "silver/high/wine",
    ]
    assert out["cell_strategy"].tolist() == [
        "develop", "retain", "retain", "develop", "maintain", "maintain", "maintain",
        "reduce_cost_to_serve", "reduce_cost_to_serve", "retain",
    ]  # fmt: skip
    assert state["potential_cuts"] == [90.0, 50.0]
    # the stored stage: active with churn 0.9 stays active (the answer shows it at risk)
    assert out["micro_segment"].tolist()[:2] == ["wine/platinum/active/web"] * 2
    assert out["micro_segment"].tolist()[-2:] == [
        "bulk/value_destroyer/lapsed/web",
        "bulk/gold/won_back/web",
    ]
    # the share-of-wallet measure: the lowest share is the highest potential
    cfg = CellsConfig(measure="share_of_wallet", min_size=1)
    by_share, _ = cell_table(frame, channel, cfg)
    assert by_share["potential_level"].tolist()[:4] == ["medium", "low", "medium", "high"]
    # a custom strategy
    custom = parse_cells({"strategies": {"platinum": {"low": "maintain"}}}, "cells.yaml")
    again, _ = cell_table(frame, channel, custom)
    assert again["cell_strategy"].tolist()[:2] == ["develop", "maintain"]


def test_no_potential_gives_unknown_and_the_tiers_unknown_strategy() -> None:
    frame = _frame().drop(columns=["potential_headroom", "share_of_wallet"])
    out, _ = cell_table(frame, np.full(10, "web", dtype=object), CellsConfig())
    assert set(out["potential_level"]) == {"unknown"}
    assert out["cell"].iloc[0] == "platinum/unknown/wine"
    assert out["cell_strategy"].iloc[0] == "retain"
    assert out["cell_strategy"].iloc[7] == "reduce_cost_to_serve"


def test_small_micro_segments_merge_upward_deterministically() -> None:
    seg = ["a"] * 6 + ["b"] * 2
    tier = ["gold"] * 4 + ["silver"] * 2 + ["gold"] * 2
    stage = ["active"] * 3 + ["new"] + ["active"] * 4
    chan = ["web"] * 4 + ["shop", "web", "web", "web"]
    dims = [np.array(d, dtype=object) for d in (seg, tier, stage, chan)]
    ids, sizes = micro_segments(dims, min_size=3)
    # a/gold/active/web has 3: kept. a/gold/new/web (1), a/silver/active/{shop,web} (1+1)
    # merge up through a/gold/new/* (1), a/silver/active/* (2), a/gold/*/* (1),
    # a/silver/*/* (2) into a/*/*/* (3). b's 2 are too few anywhere: */*/*/*.
    assert ids.tolist() == ["a/gold/active/web"] * 3 + ["a/*/*/*"] * 3 + ["*/*/*/*"] * 2
    assert sizes.tolist() == [3] * 6 + [2] * 2
    # row order does not matter
    order = np.random.default_rng(0).permutation(8)
    again, _ = micro_segments([d[order] for d in dims], min_size=3)
    assert again.tolist() == ids[order].tolist()
    # min size 1: nothing merges; a bucket at a middle level is kept when big enough
    assert micro_segments(dims, 1)[0].tolist()[4] == "a/silver/active/shop"
    ids2, _ = micro_segments(dims, min_size=2)
    # the lone a/gold/new/web finds no bucket of 2 on the way up: */*/*/*
    assert ids2.tolist()[3:6] == ["*/*/*/*", "a/silver/active/*", "a/silver/active/*"]
    assert ids2.tolist()[6:] == ["b/gold/active/web"] * 2


def test_merged_of_places_a_new_fine_cell_in_the_first_published_bucket() -> None:
    known = {"a/gold/active/web": "a/gold/active/web", "a/gold/new/web": "a/*/*/*"}
    published = frozenset({"a/gold/active/web", "a/*/*/*", "*/*/*/*"})
    assert merged_of("a/gold/new/web", known, published) == "a/*/*/*"
    assert merged_of("a/gold/lapsed/shop", known, published) == "a/*/*/*"
    assert merged_of("z/gold/active/web", known, published) == "*/*/*/*"


def test_the_event_path_places_a_customer_as_the_publish_did() -> None:
    frame = _frame()
    channel = np.array(["web"] * 10, dtype=object)
    cfg = CellsConfig(min_size=2)
    batch, state = cell_table(frame, channel, cfg)
    one, _ = cell_table(frame.iloc[[3]], channel[[3]], cfg, state)
    assert one.to_dict("records") == batch.iloc[[3]].to_dict("records")


def test_preferred_channel_from_shares() -> None:
    features = pd.DataFrame(
        {"chan_share__web": [0.7, 0.5, 0.0], "chan_share__shop": [0.3, 0.5, 0.0]}
    )
    assert preferred_channel(features).tolist() == ["web", "shop", "none"]  # ties: name order
    assert preferred_channel(pd.DataFrame({"x": [1]})).tolist() == ["none"]


def test_cell_summary_lists_every_cell_with_counts_value_and_strategy() -> None:
    tier = np.array(["gold", "gold", "bronze"], dtype=object)
    level = np.array(["high", "high", "low"], dtype=object)
    table = cell_summary(tier, level, {"margin_12m": np.array([10.0, 5.0, 1.0])}, CellsConfig())
    assert len(table) == 5 * 4
    gold = table.set_index(["value_tier", "potential_level"]).to_dict("index")[("gold", "high")]
    assert (gold["customers"], gold["margin_12m"], gold["strategy"]) == (2, 15.0, "develop")
    assert table["customers"].sum() == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"strategy": {}}, "unknown key(s) strategy"),
        ({"strategies": {"diamond": {"high": "retain"}}}, "strategies: unknown key(s) diamond"),
        ({"strategies": {"gold": {"huge": "retain"}}}, "strategies.gold: unknown key(s) huge"),
        ({"strategies": {"gold": {"high": "grow"}}}, "strategies.gold.high must be one of"),
        ({"potential": {"measure": "spend"}}, "potential.measure must be one of"),
        ({"potential": {"high": 1.5}}, "potential.high must be a share"),
        ({"potential": {"high": 0.6, "medium": 0.6}}, "potential.high + potential.medium"),
        ({"micro_segments": {"min_size": 0}}, "micro_segments.min_size must be an integer"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_bad_cells_yaml_names_the_file_and_key(raw: object, message: str) -> None:
    with pytest.raises(CellsError, match=r"^data/cells\.yaml") as info:
        parse_cells(raw, "data/cells.yaml")
    assert message in str(info.value)


def test_cells_yaml_from_the_data_folder_then_the_home(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    data.mkdir()
    home.mkdir()
    assert load_cells(data, home) == CellsConfig()
    (home / "cells.yaml").write_text("micro_segments: {min_size: 7}\n")
    assert load_cells(data, home).min_size == 7
    (data / "cells.yaml").write_text("potential: {measure: share_of_wallet}\n")
    got = load_cells(data, home)
    assert (got.measure, got.min_size, got.source) == (
        "share_of_wallet",
        50,
        str(data / "cells.yaml"),
    )
    assert cells_from_json(cells_to_json(got)) == got
    (data / "cells.yaml").write_text("potential: [\n")
    with pytest.raises(CellsError, match="not valid YAML"):
        load_cells(data, home)
