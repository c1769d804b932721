"""Parameters of the synthetic shop: product families, behavioural archetypes, attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

HOURS_PER_WEEK = 168
HOURS_PER_YEAR = 8766.0

# name, margin rate, mean unit price, mean extra units per line
FAMILY_TABLE: tuple[tuple[str, float, float, float], ...] = (
    ("fresh_food", 0.25, 4.5, 2.0),
    ("bakery", 0.45, 3.0, 1.0),
    ("household", 0.30, 6.0, 1.5),
    ("electronics", 0.12, 60.0, 0.1),
    ("beauty", 0.48, 14.0, 0.6),
    ("wine", 0.35, 11.0, 0.8),
    ("clothing", 0.42, 25.0, 0.4),
    ("toys", 0.33, 15.0, 0.3),
    ("pet_care", 0.28, 9.0, 1.0),
    ("garden", 0.38, 12.0, 0.5),
)
MIN_FAMILIES, MAX_FAMILIES = 4, len(FAMILY_TABLE)
CHANNELS = ("store", "online", "phone")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
REGIONS = ("north", "south", "east", "west", "central")
ACQUISITION = ("store", "web", "app", "referral", "partner")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Archetype:
    """Latent behaviour: what, where, when and how often a customer buys, and who they are."""

    name: str
    share: float
    family_mix: tuple[float, ...]  # over FAMILY_TABLE, truncated to the families in use
    channel_mix: tuple[float, float, float]
    day_weights: tuple[float, ...]  # mon..sun
    peak_hour: float
    rate_shape: float  # Gamma shape of purchases per year
    rate_mean: float  # mean purchases per year while alive
    dropout_a: float  # Beta(a, b) of the dropout probability after each purchase
    dropout_b: float
    extra_lines: float  # mean extra lines (families) per basket
    spend_scale: float  # multiplies the quantity bought per line
    discount_mean: float
    return_rate: float
    p_partial_churn: float
    p_value_destroyer: float
    age_mix: tuple[float, ...]
    region_mix: tuple[float, ...]
    acquisition_mix: tuple[float, ...]


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "fresh_food_family", 0.25,
        (0.40, 0.18, 0.14, 0.02, 0.05, 0.05, 0.04, 0.08, 0.03, 0.01),
        (0.80, 0.17, 0.03), (1.0, 1.0, 1.0, 1.1, 1.4, 1.8, 0.6), 17.0,
        2.0, 30.0, 1.2, 60.0, 0.7, 1.2, 0.05, 0.03, 0.10, 0.02,
        (0.02, 0.20, 0.38, 0.25, 0.10, 0.05), (0.2, 0.2, 0.2, 0.2, 0.2),
        (0.50, 0.20, 0.15, 0.10, 0.05),
    ),
    Archetype(
        "bulk_shopper", 0.15,
        (0.12, 0.05, 0.40, 0.06, 0.05, 0.08, 0.04, 0.04, 0.12, 0.04),
        (0.70, 0.25, 0.05), (0.6, 0.6, 0.7, 0.8, 1.0, 2.2, 1.4), 11.0,
        2.5, 14.0, 1.5, 60.0, 1.0, 2.5, 0.05, 0.02, 0.12, 0.02,
        (0.02, 0.12, 0.30, 0.30, 0.18, 0.08), (0.30, 0.15, 0.15, 0.25, 0.15),
        (0.60, 0.15, 0.05, 0.10, 0.10),
    ),
    Archetype(
        "online_convenience", 0.22,
        (0.06, 0.03, 0.12, 0.35, 0.18, 0.04, 0.14, 0.04, 0.02, 0.02),
        (0.10, 0.85, 0.05), (1.2, 1.2, 1.2, 1.2, 1.0, 0.6, 0.9), 21.0,
        1.8, 24.0, 1.0, 30.0, 0.4, 1.0, 0.07, 0.08, 0.10, 0.06,
        (0.15, 0.35, 0.28, 0.14, 0.06, 0.02), (0.15, 0.15, 0.20, 0.15, 0.35),
        (0.05, 0.40, 0.40, 0.10, 0.05),
    ),
    Archetype(
        "weekend_treats", 0.20,
        (0.10, 0.22, 0.04, 0.03, 0.08, 0.33, 0.05, 0.05, 0.02, 0.08),
        (0.75, 0.20, 0.05), (0.3, 0.3, 0.3, 0.4, 1.5, 2.6, 2.0), 15.0,
        2.0, 22.0, 1.2, 45.0, 0.5, 1.0, 0.04, 0.03, 0.10, 0.02,
        (0.10, 0.25, 0.22, 0.20, 0.15, 0.08), (0.2, 0.25, 0.2, 0.2, 0.15),
        (0.45, 0.25, 0.15, 0.10, 0.05),
    ),
    Archetype(
        "bargain_hunter", 0.18,
        (0.10, 0.08, 0.16, 0.05, 0.34, 0.06, 0.10, 0.07, 0.03, 0.01),
        (0.55, 0.35, 0.10), (1.3, 1.4, 1.3, 1.2, 1.0, 0.9, 0.5), 11.0,
        1.5, 20.0, 1.5, 25.0, 0.4, 0.8, 0.14, 0.05, 0.15, 0.25,
        (0.12, 0.20, 0.18, 0.16, 0.18, 0.16), (0.2, 0.2, 0.2, 0.2, 0.2),
        (0.20, 0.30, 0.20, 0.10, 0.20),
    ),
)  # fmt: skip
ARCHETYPE_NAMES = tuple(a.name for a in ARCHETYPES)
# the true wallet: a customer's yearly spend in our categories (with us and elsewhere) is
# this x their basket-size trait x lognormal noise (WALLET_NOISE); about the archetype's
# 85th percentile of the yearly spend with us per unit of the trait, so most customers buy
# part of their wallet from us and a few (the envelope) all of it
WALLET_PER_SPEND = {
    "fresh_food_family": 780.0,
    "bulk_shopper": 970.0,
    "online_convenience": 1140.0,
    "weekend_treats": 560.0,
    "bargain_hunter": 330.0,
}
WALLET_NOISE = 0.25

# value destroyers: a discount above every family's margin rate, and many returns
DESTROYER_DISCOUNT = (0.52, 0.62)
DESTROYER_RETURN_RATE = 0.30
# share of a returned line's cost recovered by resale; a return always loses money
RETURN_RECOVERY = 0.5
# partial churners: spend decays towards a floor after an onset date
DECAY_DAYS = (60.0, 180.0)
DECAY_FLOOR = 0.15
# drift scenarios
PRICE_DRIFT_FACTOR = 1.15
MIX_DRIFT_BOOST = 3.0  # on the last two families in use
CHURN_DRIFT_FACTOR = 3.0  # dropout probability after each purchase multiplies by this
CHURN_DRIFT_MAX_P = 0.9


def family_names(n_families: int) -> tuple[str, ...]:
    """The first ``n_families`` family names."""
    return tuple(f[0] for f in FAMILY_TABLE[:n_families])


def family_arrays(n_families: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Margin rate, unit price and mean extra units of the families in use."""
    table = np.array([f[1:] for f in FAMILY_TABLE[:n_families]], dtype=np.float64)
    return table[:, 0], table[:, 1], table[:, 2]


def family_mix(n_families: int, mix_drift: bool = False) -> np.ndarray:
    """Family probabilities per archetype (rows sum to 1), optionally after a mix drift."""
    mix = np.array([a.family_mix[:n_families] for a in ARCHETYPES], dtype=np.float64)
    if mix_drift:
        mix = mix.copy()
        mix[:, -2:] *= MIX_DRIFT_BOOST
    return cast(np.ndarray, mix / mix.sum(axis=1, keepdims=True))


def weekly_profile() -> np.ndarray:
    """Purchase intensity per hour of the week (archetype × 168), mean 1 in every row.

    Shops open 7:00–22:00; each archetype has its day weights and a peak hour, and every
    open hour keeps at least a tenth of the peak.
    """
    hours = np.arange(24, dtype=np.float64)
    open_hours = (hours >= 7) & (hours < 22)
    rows = []
    for a in ARCHETYPES:
        by_hour = np.maximum(np.exp(-0.5 * ((hours - a.peak_hour) / 3.5) ** 2), 0.1)
        by_hour = by_hour * open_hours
        week = np.outer(np.asarray(a.day_weights), by_hour).ravel()
        rows.append(week * HOURS_PER_WEEK / week.sum())
    return np.vstack(rows)


def attribute_mix(field: str) -> np.ndarray:
    """Probabilities of a customer attribute per archetype (rows sum to 1)."""
    mix = np.array([getattr(a, field) for a in ARCHETYPES], dtype=np.float64)
    return cast(np.ndarray, mix / mix.sum(axis=1, keepdims=True))
