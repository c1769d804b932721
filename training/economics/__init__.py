"""Customer economics: per-customer P&L, lifecycle stages and value concentration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.contract import CleanData
from training.economics.costs import COSTS_FILE, Costs, CostsError, load_costs
from training.economics.lifecycle import STAGES, LifecycleRules, lifecycle, transitions
from training.economics.pnl import PNL_COLUMNS, contact_events, customer_pnl

__all__ = [
    "COSTS_FILE",
    "PNL_COLUMNS",
    "STAGES",
    "Costs",
    "CostsError",
    "LifecycleRules",
    "contact_events",
    "customer_pnl",
    "economics_columns",
    "lifecycle",
    "load_costs",
    "transitions",
]


def economics_columns(
    data: CleanData,
    ids: pd.Index,
    as_of: pd.Timestamp,
    costs: Costs,
    contacts: pd.DataFrame | None = None,
    churn: np.ndarray | None = None,
    rules: LifecycleRules | None = None,
) -> pd.DataFrame:
    """The store's economics columns for ``ids`` (rows in that order, no index): the
    P&L, ``costs_file`` (the costs.yaml used; "" when every cost is the zero default) and
    the lifecycle stage and since date. The store keeps the stage without the churn rule
    (``churn`` None) and ``lifecycle_as_of``: the answer applies the rule to the churn
    score it shows (``serving.profile``), so a new churn champion scored on read moves the
    stage exactly as a new materialize would."""
    pnl = customer_pnl(data.transactions, data.customers, ids, as_of, costs, contacts)
    signup = data.customers.set_index("customer_id")["signup_date"]
    stage = lifecycle(data.transactions, signup, ids, as_of, churn, rules)
    out = pnl.round(2).join(stage).reset_index(drop=True)  # money in cents
    out["lifecycle_as_of"] = f"{as_of:%Y-%m-%d}"
    out["costs_file"] = costs.source or ""
    return out
