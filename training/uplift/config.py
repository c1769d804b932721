"""Settings of the uplift model: the meta-learner, its boosters, the arms and the split."""

from __future__ import annotations

from dataclasses import dataclass

LEARNERS = ("x", "t")
ANY_ARM = "any"  # the arm of offers without a family: the response is any purchase


@dataclass(frozen=True)
class UpliftConfig:
    """Every setting is stored in the saved manifest and logged as a run parameter.

    - ``learner``: ``x`` (the X-learner of Künzel et al. 2019, the default) or ``t``
      (two-model T-learner, the X-learner's first stage alone). See ``fit.py`` for why X.
    - ``any_purchase_kinds``: offer kinds without a family whose rows form the ``any`` arm
      (response: any purchase in the window). Retention only by default: up-sell offers are
      another treatment of the same outcome, and pooling them would average two effects.
    - ``eval_fraction`` of the customers (a salted hash of the id, so the same customers in
      every run and the champion never trained on them) is held out for the metrics.
    - An arm is fitted only with at least ``min_per_group`` customers and ``min_responders``
      responders in each of treated and control; judged only with ``min_eval_per_group``
      held-out customers in each.
    - The gate (``metrics.py``): the held-out ``mean_qini`` must reach ``min_qini`` and clear
      the ``null_quantile`` of the mean Qini of ``null_draws`` random rankings of the same
      customers, the Qini that luck alone gives on data of that size.
    - ``pool_families``: the family arms (two or more) share one meta-learner: their rows
      stacked, each with its own family's spend share and purchase count as two extra
      columns and the arm as an indicator (``model.py``). A coupon lover is one for every
      family, and a control group split six ways leaves each arm a few dozen responders:
      on the demo's loop (4,000 customers) one learner per arm ranked no better than random.
    - ``n_jobs``: XGBoost threads (1: several small boosters on a shared 2-core box).
    """

    learner: str = "x"
    any_purchase_kinds: tuple[str, ...] = ("retention",)
    eval_fraction: float = 0.3
    split_salt: str = "cintel-uplift"
    min_per_group: int = 50
    min_responders: int = 10
    min_eval_per_group: int = 30
    max_depth: int = 2
    learning_rate: float = 0.05
    n_estimators: int = 400
    early_stopping_rounds: int = 30
    min_child_weight: float = 5.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 5.0
    valid_fraction: float = 0.25
    min_qini: float = 0.02
    null_quantile: float = 0.95
    null_draws: int = 200
    pool_families: bool = True
    n_jobs: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, got {self.learner!r}")
        if not 0 < self.eval_fraction < 1:
            raise ValueError(f"eval_fraction must lie in (0, 1), got {self.eval_fraction}")
        if not 0 < self.valid_fraction < 0.5:
            raise ValueError(f"valid_fraction must lie in (0, 0.5), got {self.valid_fraction}")
        if self.min_per_group < 2 or self.min_eval_per_group < 1:
            raise ValueError("min_per_group must be at least 2 and min_eval_per_group at least 1")
        if not 0.5 <= self.null_quantile < 1 or self.null_draws < 20:
            raise ValueError("null_quantile must lie in [0.5, 1) and null_draws be at least 20")
        if not 1 <= self.n_jobs <= 2:
            raise ValueError(f"n_jobs must be 1 or 2, got {self.n_jobs}")
