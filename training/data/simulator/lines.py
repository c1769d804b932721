"""Synthetic basket lines: family, channel, quantity, money, decay, drift and returns."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import cast

import numpy as np

from training.data.simulator import archetypes as sa
from training.data.simulator.process import sample_categories, segment_cumsum, segment_offsets

KEY_SHIFT = 2**33  # seconds since the epoch stay below this (272 years)
SECONDS_PER_DAY = 86_400
SPEND_SHAPE = 4.0  # Gamma shape of the spend of one line


@dataclass(frozen=True)
class Customers:
    """Latent traits, one array element per customer."""

    archetype: np.ndarray
    rate_per_year: np.ndarray
    dropout: np.ndarray
    spend: np.ndarray
    discount: np.ndarray
    return_rate: np.ndarray
    destroyer: np.ndarray
    partial: np.ndarray
    decay_onset: np.ndarray
    decay_days: np.ndarray
    channel_cdf: np.ndarray


@dataclass(frozen=True)
class Lines:
    """Transaction rows as arrays; ``link`` is the basket of a purchase, the line of a return."""

    customer: np.ndarray
    seconds: np.ndarray
    amount: np.ndarray
    margin: np.ndarray
    family: np.ndarray
    channel: np.ndarray
    quantity: np.ndarray
    link: np.ndarray
    first_in_basket: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    def select(self, index: np.ndarray) -> Lines:
        """The rows picked by a boolean mask or an index array."""
        return Lines(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def sort_key(self) -> np.ndarray:
        return cast(np.ndarray, self.customer * KEY_SHIFT + self.seconds)


def _geometric(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """Counts 0, 1, 2, ... with P(k) ∝ q^k and the given mean (an overdispersed Poisson)."""
    scale = 1.0 / np.log1p(1.0 / np.maximum(mean, 1e-12))
    return cast(np.ndarray, (rng.standard_exponential(len(mean)) * scale).astype(np.int64))


def _strictly_increasing(seconds: np.ndarray, customer: np.ndarray) -> np.ndarray:
    """Push ties one second later so each customer's timestamps are unique and ordered.

    Input is non-decreasing within each customer. Only customers with a tie are touched:
    there, the running maximum of ``seconds - rank`` (customers kept apart by
    ``KEY_SHIFT``) plus the rank is strictly increasing.
    """
    same = customer[1:] == customer[:-1]
    tie = np.flatnonzero(same & (seconds[1:] <= seconds[:-1]))
    if len(tie) == 0:
        return seconds
    bad = np.zeros(int(customer[-1]) + 1, dtype=bool)
    bad[customer[tie]] = True
    rows = np.flatnonzero(bad[customer])
    c = customer[rows]
    key = c * KEY_SHIFT + seconds[rows] - np.arange(len(rows))
    out = seconds.copy()
    out[rows] = np.maximum.accumulate(key) - c * KEY_SHIFT + np.arange(len(rows))
    return out


def _decay(cust: Customers, c: np.ndarray, seconds: np.ndarray, future_end: int) -> np.ndarray:
    """Spend multiplier of partial churners: 1 before their onset, then down to a floor."""
    first = seconds[segment_offsets(np.bincount(c, minlength=len(cust.archetype)))[:-1]]
    onset = first + cust.decay_onset * (future_end - first)
    rows = np.flatnonzero(cust.partial[c])
    cr = c[rows]
    elapsed = np.maximum(seconds[rows] - onset[cr], 0.0) / (cust.decay_days[cr] * SECONDS_PER_DAY)
    mult = np.ones(len(c))
    mult[rows] = sa.DECAY_FLOOR + (1.0 - sa.DECAY_FLOOR) * np.exp(-elapsed)
    return mult


def _cents(x: np.ndarray) -> np.ndarray:
    out = x * 100.0
    np.rint(out, out=out)
    out /= 100.0
    return out


def _churn_kill(
    rng: np.random.Generator, cust: Customers, basket_cust: np.ndarray, after: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Extra dropout after each post-drift purchase; baskets kept and customers killed."""
    p = cust.dropout
    p_after = np.minimum(p * sa.CHURN_DRIFT_FACTOR, sa.CHURN_DRIFT_MAX_P)
    extra = np.clip((p_after - p) / (1.0 - p), 0.0, 1.0)
    coin = (rng.random(len(basket_cust)) < extra[basket_cust]) & after
    offsets = segment_offsets(np.bincount(basket_cust, minlength=len(p)))
    earlier = segment_cumsum(coin.astype(np.float64), offsets) - coin
    killed = np.bincount(basket_cust, weights=coin, minlength=len(p)) > 0
    return earlier == 0, killed


def make_lines(
    rng: np.random.Generator,
    churn_rng: np.random.Generator,
    n_families: int,
    drift: str | None,
    drift_s: int | None,
    cust: Customers,
    basket_cust: np.ndarray,
    basket_s: np.ndarray,
    future_end: int,
) -> tuple[Lines, np.ndarray, np.ndarray]:
    """Expand baskets into lines; return them with the baskets kept and customers killed.

    Drift only changes what happens at or after ``drift_s``: every random draw is made
    as without drift, so rows before the drift are identical to a run without it.
    """
    arch_b = cust.archetype[basket_cust]
    extra_lines = np.array([a.extra_lines for a in sa.ARCHETYPES])
    per_basket = 1 + _geometric(rng, extra_lines[arch_b])
    basket = np.repeat(np.arange(len(basket_cust)), per_basket)
    c = basket_cust[basket]
    basket_start = segment_offsets(per_basket)[:-1]
    line_no = np.arange(len(basket)) - np.repeat(basket_start, per_basket)
    seconds = _strictly_increasing(basket_s[basket] + line_no, c)
    first_in_basket = line_no == 0
    after = seconds >= drift_s if drift_s is not None else np.zeros(len(c), dtype=bool)
    u_b = rng.random(len(basket_cust))
    cdf = cust.channel_cdf[basket_cust]
    channel = ((u_b >= cdf[:, 0]).astype(np.int8) + (u_b >= cdf[:, 1]))[basket]
    mix = np.stack([sa.family_mix(n_families), sa.family_mix(n_families, True)], axis=1)
    era = after if drift == "mix" else np.zeros(len(c), dtype=bool)
    row = cust.archetype[c].astype(np.int64) * 2 + era
    family = sample_categories(mix.reshape(-1, n_families), row, rng.random(len(c)))
    margin_rate, unit_price, extra_units = sa.family_arrays(n_families)
    spend_scale = np.array([a.spend_scale for a in sa.ARCHETYPES])[cust.archetype[c]]
    units = 1 + _geometric(rng, extra_units[family] * spend_scale)
    # constant shape: the stream used does not depend on the family, so a mix drift
    # leaves every earlier draw as it was
    price = rng.standard_gamma(SPEND_SHAPE, len(c)) / SPEND_SHAPE
    gross = price * units * unit_price[family] * cust.spend[c]
    mult = _decay(cust, c, seconds, future_end)
    if drift == "price":
        gross = gross * np.where(after, sa.PRICE_DRIFT_FACTOR, 1.0)
    gross = gross * mult
    amount = np.maximum(_cents(gross * (1.0 - cust.discount[c])), 0.01)
    margin = _cents(amount - gross * (1.0 - margin_rate[family]))
    quantity = np.maximum(np.rint(units * mult), 1).astype(np.int64)
    lines = Lines(c, seconds, amount, margin, family, channel, quantity, basket, first_in_basket)
    if drift == "churn":
        keep, killed = _churn_kill(churn_rng, cust, basket_cust, after[first_in_basket])
    else:
        keep, killed = np.ones(len(basket_cust), dtype=bool), np.zeros(len(cust.spend), bool)
    return lines, keep, killed


def make_returns(rng: np.random.Generator, cust: Customers, lines: Lines) -> Lines:
    """Some lines come back 1–30 whole days later (same hour): a refund, cost partly recovered."""
    origin = np.flatnonzero(rng.random(len(lines)) < cust.return_rate[lines.customer])
    days = 1 + np.minimum(rng.exponential(6.0, len(origin)), 29.0).astype(np.int64)
    amount = lines.amount[origin]
    cost = amount - lines.margin[origin]
    return Lines(
        customer=lines.customer[origin],
        seconds=lines.seconds[origin] + days * SECONDS_PER_DAY,
        amount=-amount,
        margin=_cents(-amount + sa.RETURN_RECOVERY * cost),
        family=lines.family[origin],
        channel=lines.channel[origin],
        quantity=-lines.quantity[origin],
        link=origin,
        first_in_basket=np.zeros(len(origin), dtype=bool),
    )
