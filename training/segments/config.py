"""Settings of the tier, RFM and behavioural-segment model."""

from __future__ import annotations

from dataclasses import dataclass

TIERS = ("platinum", "gold", "silver", "bronze", "value_destroyer")
LOW_ACTIVITY = "low_activity"
MONETARY_CHOICES = ("monetary_mean", "gross_spend")


@dataclass(frozen=True)
class SegmentsConfig:
    """Defaults follow issue 3; every threshold is stored in the saved manifest.

    - ``monetary_column``: RFM's M. ``monetary_mean`` (mean gross basket) by default, so M
      is not F in disguise; ``gross_spend`` gives the classic total-spend M.
    - ``tier_shares``: shares of the customers with positive ``margin_365d`` that are
      platinum, gold and silver (the rest of them are bronze).
    - A customer is *active* (segmented) with at least ``min_purchases`` purchases and
      gross spend above ``min_gross_spend``; the others are labelled ``low_activity``.
    - The number of segments is the k in ``k_min..k_max`` with the best silhouette on a
      sample of at most ``silhouette_sample`` active customers.
    - ``match_max_ratio``: a retrained segment keeps the previous champion's id when its
      centre is within this share of the distance from the previous centre to that
      centre's nearest neighbour (see ``training.segments.identity``).
    - ``n_threads`` caps OpenMP/BLAS threads while fitting and evaluating: on a busy
      2-core box KMeans with spinning OpenMP threads ran 20× slower than with one.
    """

    monetary_column: str = "monetary_mean"
    tier_shares: tuple[float, float, float] = (0.05, 0.15, 0.30)
    min_purchases: int = 3
    min_gross_spend: float = 0.0
    min_active_customers: int = 50
    k_min: int = 3
    k_max: int = 8
    n_init: int = 4
    random_state: int = 0
    n_threads: int = 1
    fit_sample: int = 50_000
    silhouette_sample: int = 10_000
    logistic_c: float = 1.0
    logistic_max_iter: int = 500
    name_min_share: float = 0.05
    qualifier_min_ratio: float = 1.15
    match_max_ratio: float = 0.5

    def __post_init__(self) -> None:
        if self.monetary_column not in MONETARY_CHOICES:
            raise ValueError(
                f"monetary_column must be one of {MONETARY_CHOICES}, got {self.monetary_column!r}"
            )
        shares = self.tier_shares
        if len(shares) != 3 or any(s < 0 for s in shares) or sum(shares) > 1:
            raise ValueError(
                f"tier_shares must be 3 non-negative shares summing to at most 1, got {shares}"
            )
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}")
        if self.min_purchases < 1:
            raise ValueError(f"min_purchases must be at least 1, got {self.min_purchases}")
        if not 1 <= self.n_threads <= 2:
            raise ValueError(f"n_threads must be 1 or 2, got {self.n_threads}")
        if not 0 < self.match_max_ratio <= 1:
            raise ValueError(f"match_max_ratio must be in (0, 1], got {self.match_max_ratio}")
        if self.silhouette_sample < 10:
            raise ValueError("silhouette_sample must be at least 10")
