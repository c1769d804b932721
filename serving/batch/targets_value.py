"""The value campaigns of ``cintel targets``: ``upgrade`` and ``win-back`` (pure, numpy).

- upgrade: customers with potential headroom (a cintel-potential champion scored the
  store) and a cross-sell or up-sell offer of positive expected value; the offer is the
  one of highest expected value, the list is ordered by headroom x that offer's expected
  response (the propensity of buying the family, or of accepting the up-sell).
- win-back: lapsed customers (``lifecycle_stage`` lapsed) worth more than ``min_value``:
  worth is the potential value a year (``potential_value_12m``), or the spend of the last
  12 months without a potential. The offer is the retention offer the rules allow with the
  highest win-back value save_rate x worth − cost (> 0); the list is ordered by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from serving.offer_table import OK, OfferTable, floats

Columns = Mapping[str, np.ndarray]


class MissingColumns(ValueError):
    """The store lacks what a campaign ranks by; the message says how to get it."""


def upgrade(
    columns: Columns, table: OfferTable, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(per-offer choice score, -inf where not a candidate; per-customer ranking score)."""
    n = len(table)
    if "potential_headroom" not in columns:
        raise MissingColumns(
            "upgrade ranks by potential headroom, and the store has none: train cintel-potential "
            "(`cintel train --models potential`) and run `cintel materialize` again"
        )
    headroom = floats(columns, "potential_headroom", n)
    kinds = np.array([o.kind in ("cross_sell", "up_sell") for o in table.offers]) & allowed
    good = (table.blocked == OK) & (table.score > 0) & kinds & (headroom > 0)[:, None]
    choice = np.where(good, table.score, -np.inf)
    best = np.argmax(choice, axis=1)
    response = table.response[np.arange(n), best]
    return choice, np.nan_to_num(headroom * response, nan=0.0)


def win_back(
    columns: Columns, table: OfferTable, allowed: np.ndarray, min_value: float
) -> tuple[np.ndarray, np.ndarray]:
    """(per-offer win-back value, -inf where not a candidate; per-customer ranking score)."""
    n = len(table)
    if "lifecycle_stage" not in columns:
        raise MissingColumns(
            "win-back needs the lifecycle stages: run `cintel materialize` again (with "
            "CINTEL_ECONOMICS on)"
        )
    lapsed = np.asarray(columns["lifecycle_stage"], dtype=object) == "lapsed"
    potential = floats(columns, "potential_value_12m", n)
    worth = np.where(np.isnan(potential), floats(columns, "spend_365d", n), potential)
    worth = np.nan_to_num(worth, nan=0.0)
    save = np.array([o.save_rate or 0.0 for o in table.offers])
    cost = np.array([o.cost for o in table.offers])
    value = worth[:, None] * save[None, :] - cost[None, :]
    kinds = np.array([o.kind == "retention" for o in table.offers]) & allowed
    who = lapsed & (worth > min_value)
    good = (table.blocked == OK) & kinds & who[:, None] & (value > 0)
    choice = np.where(good, value, -np.inf)
    best = np.argmax(choice, axis=1)
    return choice, np.where(who, choice[np.arange(n), best], 0.0)


def value_of(
    campaign: str, min_value: float
) -> Callable[[Columns, OfferTable, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The ranking function of a value campaign."""
    if campaign == "upgrade":
        return upgrade
    return lambda columns, table, allowed: win_back(columns, table, allowed, min_value)


def value_reason(
    campaign: str, columns: Columns, table: OfferTable, i: int, j: int, score: float
) -> list[str]:
    """The ranking arithmetic of a value campaign's row (none for the other campaigns)."""
    offer = table.offers[j]
    if campaign == "upgrade":
        headroom = float(floats(columns, "potential_headroom", len(table))[i])
        p = float(table.response[i, j])
        return [f"headroom {headroom:,.0f} a year × {p:.0%} expected response = {score:,.2f}"]
    if campaign == "win-back":
        potential = float(floats(columns, "potential_value_12m", len(table))[i])
        since = columns.get("lifecycle_since")
        when = "" if since is None else f" since {since[i]}"
        worth = "potential" if potential == potential else "spend of the last 12 months"
        value = (score + offer.cost) / (offer.save_rate or 1.0)
        return [
            f"lapsed{when}, worth {value:,.0f} a year ({worth})",
            f"win-back value {score:.2f} = {offer.save_rate:.0%} save rate × {value:,.0f} "
            f"− {offer.cost:.2f} cost",
        ]
    return []
