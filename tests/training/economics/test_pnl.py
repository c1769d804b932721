"""Per-customer P&L on the tiny hand-written tables, figures worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.training.conftest import AS_OF, tiny_tables
from training.data.contract import validate
from training.economics.costs import Costs, CostsError, load_costs, parse_costs
from training.economics.pnl import contact_events, customer_pnl

COSTS = {
    "per_order": {"default": 0, "store": 2.0, "online": 1.0},
    "per_return": 3.0,
    "per_contact": {"email": 0.5},
    "acquisition": {"by": "region", "costs": {"default": 4.0, "north": 10.0}},
}


def _pnl(costs: Costs, contacts: pd.DataFrame | None = None) -> pd.DataFrame:
    tx, customers = tiny_tables()
    customers = customers.assign(acquisition_cost=[None, 20.0, None, None, None])
    data = validate(tx, customers, now=pd.Timestamp("2025-01-01"))
    ids = pd.Index(["A", "B", "C"], name="customer_id")
    return customer_pnl(data.transactions, data.customers, ids, AS_OF, costs, contacts)


def test_pnl_by_hand() -> None:
    contacts = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "ts": pd.to_datetime(["2024-02-01", "2024-05-01", "2024-03-01"]),
            "channel": ["email", "email", "call"],  # call: no price, default 0
        }
    )
    out = _pnl(parse_costs(COSTS, "costs.yaml"), contacts)
    # A: margin 2+1+4+6 = 13, a return of margin 1, 4 orders (store 2, online 1, store 2,
    # store 2 = 7) + one return (3) to serve, one email (0.5) in the year, one after as_of
    expected = pd.DataFrame(
        {
            "margin_12m": [13.0, 8.0, 0.0],
            "returns_12m": [1.0, 0.0, 0.0],
            "orders_12m": [4.0, 1.0, 0.0],
            "cost_to_serve_12m": [10.0, 1.0, 0.0],
            "contact_cost_12m": [0.5, 0.0, 0.0],
            "net_contribution_12m": [1.5, 7.0, 0.0],
            # B has its own cost in the customers table; A and C are from the north
            "acquisition_cost": [10.0, 20.0, 10.0],
        },
        index=pd.Index(["A", "B", "C"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(out, expected)


def test_no_costs_file_means_zero_costs(tmp_path: Path) -> None:
    costs = load_costs(tmp_path)
    assert costs.source is None
    out = _pnl(costs)
    assert out["cost_to_serve_12m"].eq(0).all() and out["contact_cost_12m"].eq(0).all()
    assert out["net_contribution_12m"].tolist() == [12.0, 8.0, 0.0]  # margin - returns
    assert out["acquisition_cost"].tolist() == [0.0, 20.0, 0.0]  # only B's own column


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("per_order: {web: cheap}", "per_order.web"),
        ("per_return: -1", "per_return"),
        ("per_ordre: 1", "per_ordre"),
        ("acquisition: {by: 3}", "acquisition.by"),
        ("acquisition: {costs: {search: [1]}}", "acquisition.costs.search"),
        ("per_contact: [1, 2]", "per_contact"),
        ("per_order: {web: 1", "not valid YAML"),
    ],
)
def test_bad_costs_file_names_the_key(tmp_path: Path, text: str, names: str) -> None:
    (tmp_path / "costs.yaml").write_text(text)
    with pytest.raises(CostsError, match=r"costs\.yaml") as err:
        load_costs(tmp_path)
    assert names in str(err.value)


def test_contact_events_are_decisions_that_showed_offers() -> None:
    decisions = pd.DataFrame(
        {
            "decision_id": ["d1", "d1", "d2", "d3"],
            "ts": pd.to_datetime(["2024-01-01"] * 4),
            "customer_id": ["A", "A", "B", "C"],
            "channel": ["email", "email", "web", "web"],
            "group": ["treated", "treated", "control", "treated"],
        }
    )
    events = contact_events(decisions)
    assert events["customer_id"].tolist() == ["A", "C"]


def test_costs_survive_the_stores_meta() -> None:
    """The store's meta keeps the publish's costs as JSON, so the event path prices a
    customer as materialize did."""
    import json

    from training.economics.costs import costs_from_json, costs_to_json

    costs = parse_costs(COSTS, "costs.yaml")
    back = costs_from_json(json.loads(json.dumps(costs_to_json(costs))))
    assert back == costs and not back.per_order.zero
    assert costs_from_json(None) == Costs()
