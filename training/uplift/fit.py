"""Fitting the uplift meta-learner per arm with plain XGBoost boosters.

Why a meta-learner by hand rather than causalml or scikit-uplift: the X- and T-learners are
four and two ``xgb.train`` calls, saved as native ``.ubj`` like every other cintel model and
scored by the same numpy path in the service. ``pip install --dry-run causalml==0.18.0``
here adds 16 packages (numba and llvmlite, lightgbm, shap, pathos, seaborn, even black)
and its learners have no save format but pickle; scikit-uplift's last release (0.5.1) is
from 2022. Only the metrics are standard, and ``metrics.py`` implements them in numpy after
scikit-uplift's definitions.

Why the X-learner by default (Künzel, Sekhon, Bickel & Yu 2019, PNAS 116(10)): a control
group is a holdout, 10 % by default, so the two groups are very unequal. A T-learner
subtracts a well-fitted treated model from a poorly fitted control model, and the
difference inherits the control model's error and the treated model's extra structure.
The X-learner imputes each customer's effect with the *other* group's response model
(D1 = y − mu0(x) for the treated, D0 = mu1(x) − y for the controls), fits one effect model
per group, and weights them by the treated share, so the large group's accurate response
model carries the small group's estimate. Measured (``bench/bench_uplift.py``, depth 3, 4,000
customers, 10 seeds): the X-learner orders the customers' true effects better than the
T-learner by 0.028 of the perfect order's gain at 50/50 (in 10 of 10 seeds) and by 0.025
with a 10 % control group (7 of 10), for twice the fit time (~2 s). ``learner="t"`` is kept
for comparison.
"""

from __future__ import annotations

import math

import numpy as np
import xgboost as xgb

from training.data.snapshot import Snapshot
from training.propensity.encoding import Design
from training.uplift.config import ANY_ARM, UpliftConfig
from training.uplift.model import UpliftModel, pooled_matrix, pooled_names
from training.uplift.table import responded_column, table_arms, treated_column


def booster_params(config: UpliftConfig, objective: str, seed: int) -> dict[str, object]:
    return {
        "objective": objective,
        "eval_metric": "logloss" if objective == "binary:logistic" else "rmse",
        "tree_method": "hist",
        "max_depth": config.max_depth,
        "learning_rate": config.learning_rate,
        "min_child_weight": config.min_child_weight,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "lambda": config.reg_lambda,
        "nthread": config.n_jobs,
        "seed": seed,
    }


def _valid_mask(
    y: np.ndarray, fraction: float, rng: np.random.Generator, binary: bool
) -> np.ndarray:
    """A validation mask: ``fraction`` of each class for a binary target, else of all rows."""
    valid = np.zeros(len(y), dtype=bool)
    groups = [np.flatnonzero(y == c) for c in (0.0, 1.0)] if binary else [np.arange(len(y))]
    for idx in groups:
        n = max(1, round(fraction * len(idx)))
        valid[rng.choice(idx, size=n, replace=False)] = True
    return valid


def train_booster(
    x: np.ndarray, y: np.ndarray, names: list[str], config: UpliftConfig, objective: str, seed: int
) -> xgb.Booster:
    """Early stopping on a validation split; only the best iteration's trees are kept."""
    binary = objective == "binary:logistic"
    valid = _valid_mask(y, config.valid_fraction, np.random.default_rng(seed), binary)
    nthread = config.n_jobs
    dtrain = xgb.DMatrix(x[~valid], label=y[~valid], feature_names=names, nthread=nthread)
    dvalid = xgb.DMatrix(x[valid], label=y[valid], feature_names=names, nthread=nthread)
    booster = xgb.train(
        booster_params(config, objective, seed),
        dtrain,
        num_boost_round=config.n_estimators,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )
    return booster[: booster.best_iteration + 1]


def skip_reason(
    treated: np.ndarray, y: np.ndarray, config: UpliftConfig, responders: bool = True
) -> str | None:
    """Why an arm with these rows is not fitted (too few customers or, unless
    ``responders`` is False, too few responders per group)."""
    for name, in_group in (("treated", treated == 1), ("control", treated == 0)):
        n, pos = int(in_group.sum()), int(y[in_group].sum())
        if n < config.min_per_group:
            return f"{n} {name} customers (< min_per_group={config.min_per_group})"
        if responders and min(pos, n - pos) < config.min_responders:
            return (
                f"{pos} responders among {n} {name} customers (each outcome needs "
                f"min_responders={config.min_responders})"
            )
    return None


def fit_arm(
    x: np.ndarray, treated: np.ndarray, y: np.ndarray, names: list[str], config: UpliftConfig,
    seed: int,
) -> dict[str, xgb.Booster]:  # fmt: skip
    """The boosters of one arm: response models mu0, mu1 and, for the X-learner, the
    effect models tau0 (on the controls' imputed effects) and tau1 (on the treated's)."""
    tr = treated == 1
    logistic, squared = "binary:logistic", "reg:squarederror"
    mu0 = train_booster(x[~tr], y[~tr], names, config, logistic, seed)
    mu1 = train_booster(x[tr], y[tr], names, config, logistic, seed + 1)
    if config.learner == "t":
        return {"mu0": mu0, "mu1": mu1}
    d1 = y[tr] - mu0.inplace_predict(x[tr]).astype("float64")
    d0 = mu1.inplace_predict(x[~tr]).astype("float64") - y[~tr]
    tau1 = train_booster(x[tr], d1, names, config, squared, seed + 2)
    tau0 = train_booster(x[~tr], d0, names, config, squared, seed + 3)
    return {"mu0": mu0, "mu1": mu1, "tau0": tau0, "tau1": tau1}


Rows = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # arm -> (mask, treated, y)


def fit_pool(
    x: np.ndarray, names: list[str], rows_of: Rows, pool: list[str], config: UpliftConfig
) -> tuple[tuple[str, ...], dict[str, xgb.Booster] | None, float, dict[str, str]]:
    """(pooled arms, their shared boosters or None, treated share, skipped arms) of one
    meta-learner on the stacked rows of the family arms in ``pool`` (``pooled_matrix``).
    An arm joins with enough customers of its own; the responders are counted on the pool."""
    skipped: dict[str, str] = {}
    for arm in pool:
        reason = skip_reason(rows_of[arm][1], rows_of[arm][2], config, responders=False)
        if reason is not None:
            skipped[arm] = reason
    pooled = tuple(a for a in pool if a not in skipped)
    if len(pooled) < 2:  # one family arm left: it is fitted alone
        return (), None, math.nan, skipped
    parts = [(pooled_matrix(x[rows_of[a][0]], names, a, pooled), *rows_of[a][1:]) for a in pooled]
    xp, tp, yp = (np.concatenate([p[i] for p in parts]) for i in range(3))
    reason = skip_reason(tp, yp, config)
    if reason is not None:
        skipped.update({a: f"pooled family arms: {reason}" for a in pooled})
        return (), None, math.nan, skipped
    shared = fit_arm(xp, tp, yp, pooled_names(names, pooled), config, config.seed)
    return pooled, shared, float(tp.mean()), skipped


def fit(snapshot: Snapshot, config: UpliftConfig | None = None) -> UpliftModel:
    """One meta-learner per arm of a training table (``training.uplift.table``), the family
    arms sharing one (``UpliftConfig.pool_families``); arms with too few customers or
    responders per group are skipped with the reason."""
    config = UpliftConfig() if config is None else config
    frame = snapshot.frame
    arms = table_arms(frame.columns)
    if not arms:
        raise ValueError(
            "the snapshot has no uplift outcome columns (label_treated__<arm>); build it from "
            "the responses with training.uplift.sources.build_tables"
        )
    design = Design.fit(frame, snapshot.feature_columns)
    x = design.transform(frame)
    boosters: dict[str, dict[str, xgb.Booster]] = {}
    shares: dict[str, float] = {}
    n_train: dict[str, dict[str, int]] = {}
    rows_of: Rows = {}
    for arm in arms:
        t = frame[treated_column(arm)].to_numpy(dtype="float64")
        y = frame[responded_column(arm)].to_numpy(dtype="float64")
        rows = ~(np.isnan(t) | np.isnan(y))
        rows_of[arm] = (rows, t[rows], y[rows])
    families = [a for a in arms if a != ANY_ARM]
    pool = families if config.pool_families and len(families) >= 2 else []
    pooled, shared, share, skipped = fit_pool(x, design.names, rows_of, pool, config)
    if shared is not None:
        for arm in pooled:
            boosters[arm], shares[arm] = shared, share
    for i, arm in enumerate(arms):
        if arm in boosters or arm in skipped:
            continue
        rows, t, y = rows_of[arm]
        reason = skip_reason(t, y, config)
        if reason is not None:
            skipped[arm] = reason
            continue
        boosters[arm] = fit_arm(x[rows], t, y, design.names, config, config.seed + 10 * i)
        shares[arm] = float(t.mean())
    for arm in boosters:
        t = rows_of[arm][1]
        n_train[arm] = {"treated": int(t.sum()), "control": int((t == 0).sum())}
    if not boosters:
        detail = "; ".join(f"{a}: {r}" for a, r in skipped.items())
        raise ValueError(f"no uplift arm could be fitted: {detail}")
    return UpliftModel(tuple(arms), design, boosters, shares, skipped, config, n_train, pooled)
