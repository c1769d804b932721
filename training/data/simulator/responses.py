"""True responses to offers (who buys with and without one) and what customers then did.

Ground truth, one row per customer and family plus a ``*`` row (any purchase), for a
30-day window after the data ends. Without an offer a customer buys family f with
``p_buy_control = alive × (1 − exp(−λ × q_f))``: λ the customer's purchases in 30 days,
q_f the chance that one of their baskets holds f (their archetype's family mix and basket
size); ``*`` uses q = 1. What an offer does depends on latent behaviour:

- persuadable (buys when offered): more likely for rare buyers, discount lovers and value
  destroyers, share ``(0.1 + 2.5 discount + 0.3 destroyer) × 3 × 8 / (rate + 8)`` (at most
  0.9); ``p_buy_treated = p + (1 − p) × g``, g ~ Beta(6, 4).
- sleeping dog (put off by an offer): more likely for frequent buyers, share
  ``0.02 + 0.7 (rate / (rate + 25))²``; ``p_buy_treated = p × (1 − h)``, h ~ Beta(4, 2).
  A propensity ranking puts the frequent buyers first, those an offer moves least: the
  effect follows traits the features show (purchase rate, family mix, margin, returns), so
  an uplift model has something to learn and ranking by propensity something to lose.
- otherwise the offer changes nothing: a sure thing when ``p ≥ 0.5``, else a lost cause
  (and every customer who has left is a lost cause: p = 0 either way).

``simulate_outcomes`` draws each recorded decision's outcome from this truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from training.data.decision_log import TREATED
from training.data.features import slug
from training.data.outcomes import customer_codes, data_ids, first_decisions
from training.data.simulator import archetypes as sa

TRUTH_WINDOW_DAYS = 30.0
ANY_FAMILY = "*"
RESPONSE_TYPES = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")
PERSUADABLE, SURE_THING, LOST_CAUSE, SLEEPING_DOG = range(4)
TRUTH_COLUMNS = ["customer_id", "family", "p_buy_control", "p_buy_treated", "response_type"]


def true_responses(
    rng: np.random.Generator,
    archetype: np.ndarray,
    rate_per_year: np.ndarray,
    discount: np.ndarray,
    destroyer: np.ndarray,
    alive: np.ndarray,
    n_families: int,
) -> pd.DataFrame:
    """The ground-truth response table of one block of customers (ids 1..n)."""
    n = len(archetype)
    arch = archetype.astype(np.int64)
    mix = sa.family_mix(n_families)[arch]  # n × F
    lines = 1.0 + np.array([a.extra_lines for a in sa.ARCHETYPES])[arch]
    q = np.hstack([1.0 - (1.0 - mix) ** lines[:, None], np.ones((n, 1))])  # n × (F + 1)
    lam = rate_per_year * (TRUTH_WINDOW_DAYS / 365.25)
    p_control = alive[:, None] * -np.expm1(-lam[:, None] * q)
    shape = p_control.shape
    rarely = 8.0 / (rate_per_year + 8.0)
    w_persuade = np.clip((0.1 + 2.5 * discount + 0.3 * destroyer) * 3.0 * rarely, 0.0, 0.9)[:, None]
    w_sleep = (0.02 + 0.7 * (rate_per_year / (rate_per_year + 25.0)) ** 2)[:, None]
    u = rng.random(shape)
    gain, loss = rng.beta(6.0, 4.0, shape), rng.beta(4.0, 2.0, shape)
    persuade = u < w_persuade
    sleep = ~persuade & (u < w_persuade + w_sleep)
    p_treated = np.where(persuade, p_control + (1.0 - p_control) * gain, p_control)
    p_treated = np.where(sleep, p_control * (1.0 - loss), p_treated)
    p_treated = np.where(alive[:, None], p_treated, 0.0)
    # coherence: buying anything is at least as likely as buying any one family, with or
    # without any of the offers (the simulated outcomes need it to match every row's truth)
    floor = np.maximum(p_control[:, :-1], p_treated[:, :-1]).max(axis=1)
    p_control[:, -1] = np.maximum(p_control[:, -1], floor)
    p_treated[:, -1] = np.maximum(p_treated[:, -1], floor)
    kind = np.where(p_control >= 0.5, SURE_THING, LOST_CAUSE)
    kind = np.where(p_treated > p_control, PERSUADABLE, kind)
    kind = np.where(p_treated < p_control, SLEEPING_DOG, kind)
    families = (*sa.family_names(n_families), ANY_FAMILY)
    return pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(1, n + 1, dtype=np.int64), len(families)),
            "family": pd.Categorical.from_codes(
                np.tile(np.arange(len(families), dtype=np.int8), n), categories=pd.Index(families)
            ),
            "p_buy_control": p_control.ravel(),
            "p_buy_treated": p_treated.ravel(),
            "response_type": pd.Categorical.from_codes(
                kind.ravel().astype(np.int8), categories=pd.Index(RESPONSE_TYPES)
            ),
        }
    )


def in_window(p: np.ndarray, window_days: np.ndarray) -> np.ndarray:
    """A 30-day probability over another window, at a constant hazard."""
    return np.asarray(-np.expm1(np.log1p(-np.minimum(p, 1 - 1e-12)) * window_days / 30.0))


def drifted(truth: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The truth with both probabilities scaled by ``factor`` (clipped to [0, 1]): a world
    that moved away from what the models learnt, so actual vs expected breaks."""
    if factor == 1.0:
        return truth
    return truth.assign(
        p_buy_control=np.clip(truth["p_buy_control"].to_numpy() * factor, 0.0, 1.0),
        p_buy_treated=np.clip(truth["p_buy_treated"].to_numpy() * factor, 0.0, 1.0),
    )


def truth_key(rows: pd.DataFrame) -> pd.Series:
    """The truth family of each decision row: the offer's family for cross_sell offers,
    ``*`` (any purchase) otherwise."""
    family = rows["family"].astype(object)
    cross = (rows["kind"] == "cross_sell") & family.notna()
    return family.where(cross, ANY_FAMILY).astype(str)


def truth_codes(rows: pd.DataFrame, families: pd.Index) -> np.ndarray:
    """``truth_key`` as positions in ``families`` (-1: a family the truth lacks)."""
    codes, uniques = pd.factorize(rows["family"].to_numpy(dtype=object))
    lookup = np.append(families.get_indexer(pd.Index(uniques, dtype=object)), -1)
    fam = lookup[np.where(codes >= 0, codes, len(uniques))]
    cross = (rows["kind"].to_numpy() == "cross_sell") & (codes >= 0)
    any_code = families.get_indexer(pd.Index([ANY_FAMILY]))[0]
    return np.where(cross, fam, any_code).astype(np.int64)


def lookup_truth(rows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``p_buy_control`` and ``p_buy_treated`` over each row's response window (NaN for
    customers or families the truth does not know), aligned with ``rows``."""
    codes, truth_customer = customer_codes(rows["customer_id"], truth["customer_id"])
    family = truth["family"].astype("category")
    families = pd.Index(family.cat.categories.astype(str))
    row_fam = truth_codes(rows, families)
    width = len(families)
    pos = pd.Index(truth_customer * width + family.cat.codes.to_numpy().astype(np.int64))
    at = pos.get_indexer(np.where((codes >= 0) & (row_fam >= 0), codes * width + row_fam, -1))
    found = at >= 0
    window = rows["response_window_days"].to_numpy(dtype=np.float64)
    out = {}
    for name in ("p_buy_control", "p_buy_treated"):
        p = np.full(len(rows), np.nan)
        p[found] = in_window(truth[name].to_numpy()[at[found]], window[found])
        out[name] = p
    return pd.DataFrame(out, index=rows.index)


@dataclass(frozen=True)
class Outcomes:
    """What the customers did: purchases (transactions rows without ids resolved to the
    data's dtype), channel feedback records, and the rows that had no truth."""

    purchases: pd.DataFrame
    feedback: pd.DataFrame
    unknown_rows: int


def _pick(rng: np.random.Generator, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A uniform random index in [start, start + count) for each element (count > 0)."""
    return cast(
        np.ndarray,
        starts + np.minimum((rng.random(len(starts)) * counts).astype(np.int64), counts - 1),
    )


def simulate_outcomes(
    decisions: pd.DataFrame,
    truth: pd.DataFrame,
    transactions: pd.DataFrame,
    seed: int = 0,
) -> Outcomes:
    """Draw what each first decision per (customer, campaign, offer) led to.

    One draw per customer and truth family (a family, or ``*``): treated when any of its
    rows was shown, with ``p_buy_treated``, else ``p_buy_control``, over the first row's
    window. Every row's chance to respond equals its truth (``_draw`` couples a
    customer's family and "any purchase" draws so that all of them hold at once). Each
    purchase copies a real purchase (of that family; for a top-up, one of the customer's
    own of a family not on offer) at a uniform time in the window. Treated rows get
    channel feedback: accepted or clicked
    when the customer bought, ignored or declined otherwise.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
    rows = first_decisions(decisions)
    p = lookup_truth(rows, truth)
    known = p["p_buy_control"].notna().to_numpy()
    rows, p = rows[known].reset_index(drop=True), p[known].reset_index(drop=True)
    rows = rows.assign(
        key=truth_key(rows).to_numpy(),
        treated=(rows["group"] == TREATED).to_numpy(),
        p_c=p["p_buy_control"].to_numpy(),
        p_t=p["p_buy_treated"].to_numpy(),
    )
    units = (
        rows.groupby(["customer_id", "key"], sort=False)  # rows are in time order
        .agg(ts=("ts", "first"), window=("response_window_days", "first"),
             treated=("treated", "max"), p_c=("p_c", "first"), p_t=("p_t", "first"))
        .reset_index()
    )  # fmt: skip
    n_families = transactions["family"].astype(str).nunique()
    bought, other = _draw(rng, units, n_families)
    buys = units[other | (bought & (units["key"] != ANY_FAMILY).to_numpy())]
    purchases = _purchases(rng, buys.reset_index(drop=True), units, transactions)
    rows = rows.merge(
        units[["customer_id", "key"]].assign(bought=bought), on=["customer_id", "key"]
    )
    return Outcomes(purchases, _feedback(rng, rows), int((~known).sum()))


def _draw(
    rng: np.random.Generator, units: pd.DataFrame, n_families: int
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each unit's customer bought (family units: that family; ``*`` units:
    anything), and which ``*`` units need a purchase of their own (the top-up).

    Every unit's chance equals its truth: customers without a ``*`` unit draw each family
    independently. With one, let a = P(some family purchase) under independence and S
    the sum of the family chances. If p_any ≥ a and some family is not on offer to the
    customer, the families are independent and a top-up purchase (of a family not on
    offer) brings "any" to p_any. Otherwise, if p_any ≤ S, one uniform U per customer
    and the families laid end to end on a circle of length p_any ("buys f" when
    U < p_any and U falls in f's arc) make "some family" exactly {U < p_any}. Only when
    p_any exceeds both (every family on offer, the family chances small) is the top-up a
    family on offer, and that family's chance a little above its truth."""
    p = np.where(units["treated"], units["p_t"], units["p_c"]).astype(np.float64)
    is_any = (units["key"] == ANY_FAMILY).to_numpy()
    customer = pd.factorize(units["customer_id"])[0]
    n_customers = int(customer.max()) + 1 if len(customer) else 0

    def per_customer(values: np.ndarray) -> np.ndarray:
        return np.bincount(customer, weights=values, minlength=n_customers)

    fam_p = np.where(is_any, 0.0, p)
    a = -np.expm1(per_customer(np.log1p(-np.minimum(fam_p, 1 - 1e-12))))
    total = per_customer(fam_p)
    n_offered = per_customer((~is_any).astype(np.float64))
    p_any = np.zeros(n_customers)
    p_any[customer[is_any]] = p[is_any]
    has_any = np.zeros(n_customers, dtype=bool)
    has_any[customer[is_any]] = True
    independent = ~has_any | ((p_any >= a) & (n_offered < n_families)) | (p_any > total)
    circle = ~independent
    u_customer = rng.random(n_customers)
    u_unit = rng.random(len(units))
    # arcs: each family unit starts where the customer's previous ones end
    start = pd.Series(fam_p).groupby(customer).cumsum().to_numpy() - fam_p
    length = p_any[customer]
    with np.errstate(invalid="ignore", divide="ignore"):
        on_arc = np.mod(u_customer[customer] - start, np.where(length > 0, length, 1.0)) < fam_p
    circ_bought = (u_customer[customer] < length) & on_arc
    family_bought = ~is_any & np.where(circle[customer], circ_bought, u_unit < p)
    some_family = per_customer(family_bought.astype(np.float64)) > 0
    r = np.clip((p_any - a) / np.maximum(1.0 - a, 1e-12), 0.0, 1.0)
    top_up = has_any & independent & ~some_family & (u_customer < r)
    other = is_any & top_up[customer]
    bought = family_bought | (is_any & (some_family | top_up)[customer])
    return bought, other


def _purchases(
    rng: np.random.Generator, buys: pd.DataFrame, units: pd.DataFrame, tx: pd.DataFrame
) -> pd.DataFrame:
    """One transaction row per purchase: a copy of a real purchase at a time in the window.

    A family unit copies a purchase of that family (anyone's); a top-up copies one of the
    customer's own purchases whose family is not on offer to them (else anyone's such
    purchase), so that it answers only the "any purchase" rows."""
    pool = tx[tx["amount"].to_numpy() > 0].reset_index(drop=True)
    out_index = np.zeros(len(buys), dtype=np.int64)
    fam = pool["family"].astype(str).map(slug).to_numpy()
    is_any = (buys["key"] == ANY_FAMILY).to_numpy()
    relabel = np.zeros(len(buys), dtype=bool)
    for family in np.unique(buys.loc[~is_any, "key"]):
        where = np.flatnonzero(fam == family)
        rows = np.flatnonzero((buys["key"] == family).to_numpy())
        if len(where) == 0:  # a family nobody has bought yet: any purchase, relabelled
            where, relabel[rows] = np.arange(len(pool)), True
        zero = np.zeros(len(rows), dtype=np.int64)
        out_index[rows] = where[_pick(rng, zero, np.full(len(rows), len(where)))]
    if is_any.any():
        out_index[np.flatnonzero(is_any)] = _top_up_rows(
            rng, buys.loc[is_any, "customer_id"], units, pool["customer_id"], fam
        )
    window_ms = np.rint(buys["window"].to_numpy(np.float64) * 86_400_000).astype(np.int64)
    offset = np.ceil((1.0 - rng.random(len(buys))) * window_ms).astype(np.int64)
    start = buys["ts"].to_numpy(dtype="datetime64[ms]")
    ts = start + np.maximum(offset, 1).astype("timedelta64[ms]")
    copy = pool.iloc[out_index].reset_index(drop=True)
    family = np.where(relabel, buys["key"], copy["family"].astype(str))
    ids, found = data_ids(buys["customer_id"], tx["customer_id"])
    out = copy.assign(customer_id=ids, ts=ts.astype("datetime64[ns]"), family=family)
    return out[found].reset_index(drop=True)


def _top_up_rows(
    rng: np.random.Generator,
    customers: pd.Series,
    units: pd.DataFrame,
    pool_ids: pd.Series,
    pool_family: np.ndarray,
    tries: int = 8,
) -> np.ndarray:
    """Rows of the pool to copy for top-up purchases: the customer's own purchase of a
    family not on offer to them, else anyone's, else (every family on offer) any row."""
    offered = units[units["key"] != ANY_FAMILY]
    on_offer = pd.MultiIndex.from_arrays(
        [offered["customer_id"].astype(str).to_numpy(), offered["key"].to_numpy()]
    )
    ids = customers.astype(str).to_numpy()

    def allowed(cand: np.ndarray, who: np.ndarray) -> np.ndarray:
        probe = pd.MultiIndex.from_arrays([ids[who], pool_family[cand]])
        return np.asarray(on_offer.get_indexer(probe) < 0)

    codes, pool_codes = customer_codes(customers, pool_ids)
    order = np.argsort(pool_codes, kind="stable")
    counts = np.bincount(pool_codes, minlength=int(pool_codes.max()) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    at = np.maximum(codes, 0)
    own = (codes >= 0) & (counts[at] > 0)
    pick = np.full(len(ids), -1, dtype=np.int64)
    for attempt in range(2 * tries):
        who = np.flatnonzero((pick < 0) & (own if attempt < tries else True))
        if len(who) == 0:
            continue
        if attempt < tries:
            cand = order[_pick(rng, starts[at[who]], counts[at[who]])]
        else:
            cand = rng.integers(0, len(pool_ids), len(who))
        ok = allowed(cand, who)
        pick[who[ok]] = cand[ok]
    rest = pick < 0
    pick[rest] = rng.integers(0, len(pool_ids), int(rest.sum()))
    return pick


def _feedback(rng: np.random.Generator, rows: pd.DataFrame) -> pd.DataFrame:
    """Channel outcomes of the treated rows, minutes to a day after the decision."""
    shown = rows[rows["treated"]].reset_index(drop=True)
    u = rng.random(len(shown))
    outcome = np.where(
        shown["bought"],
        np.where(u < 0.6, "accepted", "clicked"),
        np.where(u < 0.75, "ignored", "declined"),
    )
    delay = pd.to_timedelta(rng.uniform(60.0, 86_400.0, len(shown)), unit="s")
    return pd.DataFrame(
        {
            "decision_id": shown["decision_id"],
            "offer_id": shown["offer_id"],
            "outcome": outcome,
            "ts": shown["ts"] + delay,
            "customer_id": shown["customer_id"].astype(str),
            "channel": shown["channel"],
        }
    )
