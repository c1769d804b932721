"""Per-customer P&L over the 12 months before ``as_of``: a mini income statement each.

net_contribution_12m = margin_12m − returns_12m − cost_to_serve_12m − contact_cost_12m, with
``acquisition_cost`` kept beside it (a one-off, not part of the year). Every figure is the
customer's own (their orders, channels, returns and contacts priced by ``costs.yaml``),
never an average. Pure and vectorised (``np.bincount`` over customer codes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data.features import NS_PER_DAY, VALUE_DAYS
from training.economics.costs import ByChannel, Costs

PNL_COLUMNS = (
    "margin_12m",
    "returns_12m",
    "orders_12m",
    "cost_to_serve_12m",
    "contact_cost_12m",
    "net_contribution_12m",
    "acquisition_cost",
)


def _priced(channels: np.ndarray, prices: ByChannel) -> np.ndarray:
    """The price of each event by its channel (``prices.default`` for unnamed channels)."""
    if prices.zero:
        return np.zeros(len(channels))
    cats = pd.Categorical(channels)
    table = np.array([prices.of(c) for c in cats.categories] + [prices.default])
    return table[np.where(cats.codes < 0, len(cats.categories), cats.codes)]


def _channel_codes(channel: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Integer codes of the channel column (-1: missing) and its categories."""
    cats = (
        channel.astype("category")
        if not isinstance(channel.dtype, pd.CategoricalDtype)
        else channel
    )
    return cats.cat.codes.to_numpy(dtype=np.int64), list(cats.cat.categories)


def _price_table(categories: list[object], prices: ByChannel) -> np.ndarray:
    """Price per channel code, the default last (for code -1)."""
    return np.array([prices.of(c) for c in categories] + [prices.default])


def _distinct_orders(codes: np.ndarray, ts: np.ndarray, chan: np.ndarray, start: int) -> np.ndarray:
    """Row positions of one line of each distinct (customer, second, channel); ``ts`` in
    ns within the year from ``start``. One int64 key sorted (a lexsort of three is ~15x
    slower): customer x 2^31 seconds x 64 channels, for fewer than 2^26 customers."""
    sec = (ts - start) // 10**9
    if len(codes) and (codes.max() >= 2**26 or chan.max() >= 63):
        order = np.lexsort((chan, sec, codes))
        c, t, h = codes[order], sec[order], chan[order]
        first = np.r_[True, (c[1:] != c[:-1]) | (t[1:] != t[:-1]) | (h[1:] != h[:-1])]
        return order[first]
    key = (codes.astype(np.int64) * 2**31 + sec) * 64 + (chan + 1)
    order = np.argsort(key, kind="stable")
    k = key[order]
    return order[np.r_[True, k[1:] != k[:-1]]] if len(k) else order


def _codes(ids: pd.Index, customer_ids: np.ndarray) -> np.ndarray:
    """Positions of ``customer_ids`` in ``ids`` (-1: not a customer of the index)."""
    codes = ids.get_indexer(pd.Index(customer_ids))
    if (codes < 0).all() and len(customer_ids) and ids.dtype != object:
        # decision records carry ids as text; the data may have integers
        codes = pd.Index(ids.astype(str)).get_indexer(pd.Index(customer_ids.astype(str)))
    return codes


def acquisition_costs(customers: pd.DataFrame, ids: pd.Index, costs: Costs) -> np.ndarray:
    """Each customer's acquisition cost: the customers table's own column where it has a
    value, else the cost of their acquisition channel, else the default."""
    table = customers.set_index("customer_id").reindex(ids)
    out = np.full(len(ids), costs.acquisition.default)
    if costs.acquisition_by in table.columns and not costs.acquisition.zero:
        out = _priced(table[costs.acquisition_by].astype(object).to_numpy(), costs.acquisition)
    if costs.acquisition_column in table.columns:
        own = pd.to_numeric(table[costs.acquisition_column], errors="coerce").to_numpy(float)
        out = np.where(np.isnan(own), out, own)
    return out


def customer_pnl(
    tx: pd.DataFrame,
    customers: pd.DataFrame,
    ids: pd.Index,
    as_of: pd.Timestamp,
    costs: Costs,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``PNL_COLUMNS`` for the customers ``ids`` (in that order) from the validated tables.

    An order is a distinct (customer, time, channel) of purchase rows (amount >= 0); a
    return is a row with a negative amount: its margin is given back (``returns_12m``, a
    positive number) and it costs ``per_return``. ``contacts`` (customer_id, ts, channel:
    one row per recorded contact, e.g. ``contact_events`` of the decision log) are priced
    by ``per_contact``. Inputs are not modified."""
    n = len(ids)
    start = as_of.value - VALUE_DAYS * NS_PER_DAY
    ts = tx["ts"].to_numpy().view("int64")
    window = (ts >= start) & (ts < as_of.value)
    codes = ids.get_indexer(pd.Index(tx["customer_id"].to_numpy()[window]))
    known = codes >= 0
    chan_all, categories = _channel_codes(tx["channel"])

    contact = np.zeros(n)
    if contacts is not None and len(contacts) and not costs.per_contact.zero:
        cts = contacts["ts"].to_numpy().astype("datetime64[ns]").view("int64")
        in_year = (cts >= start) & (cts < as_of.value)
        ccodes = _codes(ids, contacts["customer_id"].to_numpy()[in_year])
        ok = ccodes >= 0
        prices = _priced(contacts["channel"].to_numpy()[in_year][ok], costs.per_contact)
        contact = np.bincount(ccodes[ok], prices, n).astype("float64")

    columns = pnl_arrays(
        codes[known], ts[window][known], tx["amount"].to_numpy()[window][known],
        tx["margin"].to_numpy()[window][known], chan_all[window][known], n, categories,
        costs, start, contact, acquisition_costs(customers, ids, costs),
    )  # fmt: skip
    return pd.DataFrame(columns, index=ids)


def pnl_arrays(
    codes: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    margin: np.ndarray,
    chan: np.ndarray,
    n: int,
    channels: list[object],
    costs: Costs,
    start: int,
    contact: np.ndarray,
    acquisition: np.ndarray,
) -> dict[str, np.ndarray]:
    """``PNL_COLUMNS`` of ``n`` customers from their rows of the year from ``start`` (ns)
    as arrays: ``codes`` the row's customer (0..n-1), ``ts`` int64 ns, ``chan`` codes in
    ``channels`` (-1: the default price); ``contact`` and ``acquisition`` per customer,
    already priced.

    The one implementation of the arithmetic: ``customer_pnl`` (every customer) and the
    event path (``serving.event_economics``: a few customers) both call it."""
    margin = margin.astype(float)
    bought = amount >= 0
    margin_12m = np.bincount(codes[bought], margin[bought], n)
    returns_12m = -np.bincount(codes[~bought], margin[~bought], n)
    n_returns = np.bincount(codes[~bought], minlength=n).astype(float)
    o_codes, o_ts, o_chan = codes[bought], ts[bought], chan[bought]
    first = _distinct_orders(o_codes, o_ts, o_chan, start)
    n_orders = np.bincount(o_codes[first], minlength=n).astype(float)
    price = _price_table(channels, costs.per_order)[o_chan[first]]  # -1: the default
    serve = np.bincount(o_codes[first], price, n) + costs.per_return * n_returns
    return {
        "margin_12m": margin_12m,
        "returns_12m": returns_12m + 0.0,  # no -0.0
        "orders_12m": n_orders,
        "cost_to_serve_12m": serve,
        "contact_cost_12m": contact,
        "net_contribution_12m": margin_12m - returns_12m - serve - contact,
        "acquisition_cost": acquisition,
    }


def contact_events(decisions: pd.DataFrame) -> pd.DataFrame:
    """One row (customer_id, ts, channel) per decision record that showed an offer, from
    ``training.data.outcomes.read_decisions`` (its treated rows)."""
    if decisions.empty:
        return pd.DataFrame({"customer_id": [], "ts": pd.to_datetime([]), "channel": []})
    shown = decisions[decisions["group"] == "treated"].drop_duplicates("decision_id")
    return shown[["customer_id", "ts", "channel"]].reset_index(drop=True)
