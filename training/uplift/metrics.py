"""Uplift metrics on held-out customers: Qini and uplift curves, Qini coefficient, AUUC.

Definitions follow scikit-uplift 0.5 (``sklift.metrics``), reimplemented in numpy:
customers are ranked by score (ties form one step), and at each cut with ``n`` customers,
``n_t``/``n_c`` of them treated/control and ``r_t``/``r_c`` responders,

- Qini curve ``q(n) = r_t − r_c · n_t / n_c`` (incremental responders among the treated),
- uplift curve ``u(n) = (r_t / n_t − r_c / n_c) · n`` (incremental responders if all ``n``
  were treated).

The Qini coefficient and AUUC are the areas between the curve and the random line (the
straight line to the end point), divided by the same area of the perfect ranking: 0 is
random, 1 perfect, negative worse than random (sleeping dogs first). A constant score is
exactly random. The same figures for the ranking by the propensity the service expected
(``label_expected_response__<arm>``) show what ranking by uplift gains over it.

"Above random by a margin" is measured, not guessed: the same held-out customers in
``null_draws`` random orders give the Qini a random ranking reaches by luck on data of
this size; the gate asks ``mean_qini`` to clear that distribution's ``null_quantile``
(``qini_above_random`` ≥ 0) and an absolute ``min_qini``.
"""

from __future__ import annotations

import math

import numpy as np

from training.data.snapshot import Snapshot
from training.uplift.config import UpliftConfig
from training.uplift.model import UpliftModel
from training.uplift.table import expected_column, responded_column, table_arms, treated_column

MAIN_METRIC = "mean_qini"
GREATER_IS_BETTER = True
FLOORS: dict[str, float] = {MAIN_METRIC: UpliftConfig().min_qini, "qini_above_random": 0.0}
RANKINGS = ("model", "propensity")


def _steps(
    y: np.ndarray, treated: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n, n_t, n_c, r_t, r_c) at every distinct score, best first, starting at 0."""
    order = np.argsort(score, kind="mergesort")[::-1]
    y, treated, score = y[order], treated[order], score[order]
    cut = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    n_t = np.cumsum(treated)[cut]
    r_t = np.cumsum(y * treated)[cut]
    r_c = np.cumsum(y * (1 - treated))[cut]
    n = (cut + 1).astype("float64")
    zero = np.zeros(1)
    return (
        np.r_[zero, n],
        np.r_[zero, n_t],
        np.r_[zero, n - n_t],
        np.r_[zero, r_t],
        np.r_[zero, r_c],
    )


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.divide(a, b, out=np.zeros_like(a), where=b != 0), dtype="float64")


def qini_curve(
    y: np.ndarray, treated: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customers targeted, incremental responders) along the ranking by ``score``."""
    n, n_t, n_c, r_t, r_c = _steps(y, treated, score)
    return n, r_t - _ratio(r_c * n_t, n_c)


def uplift_curve(
    y: np.ndarray, treated: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(customers targeted, incremental responders had all of them been treated)."""
    n, n_t, n_c, r_t, r_c = _steps(y, treated, score)
    return n, (_ratio(r_t, n_t) - _ratio(r_c, n_c)) * n


def _area(x: np.ndarray, y: np.ndarray) -> float:
    """Trapezoidal area (numpy 1.26 lacks ``np.trapezoid``)."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _normalized(area: float, x_best: np.ndarray, best: np.ndarray) -> float:
    """(area − random) / (perfect area − random); NaN when the perfect ranking gains nothing."""
    random = float(x_best[-1] * best[-1]) / 2.0
    denominator = _area(x_best, best) - random
    if not denominator > 0:
        return math.nan
    return float((area - random) / denominator)


def _best_qini(y: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The perfect Qini curve (negative_effect=True): treated responders first, control
    responders last."""
    return qini_curve(y, treated, y * treated - y * (1 - treated))


def qini_coefficient(y: np.ndarray, treated: np.ndarray, score: np.ndarray) -> float:
    """Normalized Qini area (``sklift.metrics.qini_auc_score``, negative_effect=True)."""
    return _normalized(_area(*qini_curve(y, treated, score)), *_best_qini(y, treated))


def auuc(y: np.ndarray, treated: np.ndarray, score: np.ndarray) -> float:
    """Normalized area under the uplift curve (``sklift.metrics.uplift_auc_score``)."""
    x, curve = uplift_curve(y, treated, score)
    control_responders = np.sum((y == 1) & (treated == 0))
    treated_non_responders = np.sum((y == 0) & (treated == 1))
    summand = y if control_responders > treated_non_responders else treated
    x_best, best = uplift_curve(y, treated, 2.0 * (y == treated) + summand)
    return _normalized(_area(x, curve), x_best, best)


def arm_rows(snapshot: Snapshot, arm: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row mask, treated, responded) of the customers with a decision for ``arm``."""
    frame = snapshot.frame
    t = frame[treated_column(arm)].to_numpy(dtype="float64")
    y = frame[responded_column(arm)].to_numpy(dtype="float64")
    rows = ~(np.isnan(t) | np.isnan(y))
    return rows, t[rows], y[rows]


def _scores(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(Qini, AUUC) of a ranking; missing scores rank last, an all-missing one is random."""
    if np.isnan(score).all():
        score = np.zeros(len(score))
    low = np.nanmin(score) - 1.0
    score = np.where(np.isnan(score), low, score)
    return qini_coefficient(y, t, score), auuc(y, t, score)


def random_qini(y: np.ndarray, treated: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """Qini coefficients of ``draws`` random orders of these customers (the null)."""
    rng = np.random.default_rng(seed)
    best = _best_qini(y, treated)
    areas = [_area(*qini_curve(y, treated, rng.permutation(len(y)).astype("float64")))
             for _ in range(draws)]  # fmt: skip
    return np.array([_normalized(a, *best) for a in areas])


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def evaluate(model: UpliftModel, snapshot: Snapshot) -> dict[str, float]:
    """Per arm of the held-out table and averaged over the arms that can be judged.

    Per arm: ``qini__<arm>`` and ``auuc__<arm>`` of the model's ranking, the same with
    ``_propensity`` for the ranking by the expected response the service logged, held-out
    sizes, response rates, the observed average effect ``ate__<arm>`` and the model's mean
    predicted ``mean_uplift__<arm>``. An arm the model has no boosters for counts as a
    random ranking (0); an arm with fewer than ``min_eval_per_group`` held-out customers in
    a group is NaN. Means: ``mean_qini`` (the gate's metric), ``mean_auuc``,
    ``mean_qini_propensity``, ``mean_auuc_propensity`` and ``qini_gain_over_propensity``;
    ``mean_qini_random_q`` is the ``null_quantile`` of the mean Qini of random rankings of
    the same customers and ``qini_above_random`` = ``mean_qini`` minus it.
    """
    arms = table_arms(snapshot.frame.columns)
    if not arms:
        raise ValueError("evaluation needs an uplift table (label_treated__<arm> columns)")
    x = model.matrix(snapshot.frame)
    out: dict[str, float] = {}
    means: dict[str, list[float]] = {
        "qini": [],
        "auuc": [],
        "qini_propensity": [],
        "auuc_propensity": [],
    }
    config = model.config
    null: list[np.ndarray] = []
    for i, arm in enumerate(arms):
        rows, t, y = arm_rows(snapshot, arm)
        n_t, n_c = int(t.sum()), int((t == 0).sum())
        out[f"n_treated__{arm}"], out[f"n_control__{arm}"] = float(n_t), float(n_c)
        rate_t = float(y[t == 1].mean()) if n_t else math.nan
        rate_c = float(y[t == 0].mean()) if n_c else math.nan
        out[f"response_rate_treated__{arm}"], out[f"response_rate_control__{arm}"] = rate_t, rate_c
        out[f"ate__{arm}"] = rate_t - rate_c
        uplift = (
            model.uplift(arm, x[rows]) if arm in model.arms else np.full(int(rows.sum()), np.nan)
        )
        out[f"mean_uplift__{arm}"] = (
            float(np.nanmean(uplift)) if np.isfinite(uplift).any() else math.nan
        )
        expected = snapshot.frame[expected_column(arm)].to_numpy(dtype="float64")[rows]
        judged = min(n_t, n_c) >= config.min_eval_per_group
        if judged:
            null.append(random_qini(y, t, config.null_draws, config.seed + i))
        for ranking, score in (("model", uplift), ("propensity", expected)):
            suffix = "" if ranking == "model" else "_propensity"
            qini = auc = math.nan
            if judged and not (ranking == "propensity" and np.isnan(score).all()):
                qini, auc = _scores(y, t, score)
            out[f"qini{suffix}__{arm}"], out[f"auuc{suffix}__{arm}"] = qini, auc
            means[f"qini{suffix}"].append(qini)
            means[f"auuc{suffix}"].append(auc)
    for name, values in means.items():
        out[f"mean_{name}"] = _mean(values)
    out["qini_gain_over_propensity"] = out["mean_qini"] - out["mean_qini_propensity"]
    random_q = math.nan
    if null:
        draws = np.nanmean(np.vstack(null), axis=0)
        random_q = float(np.quantile(draws, config.null_quantile))
    out["mean_qini_random_q"] = random_q
    out["qini_above_random"] = out["mean_qini"] - random_q
    out["n_arms_fitted"] = float(len(model.boosters_))
    out["n_arms_judged"] = float(sum(math.isfinite(v) for v in means["qini"]))
    return out


def true_gain(true_uplift: np.ndarray, score: np.ndarray) -> float:
    """Normalized area of the cumulative *true* uplift in the order of ``score`` (0 random,
    1 the order of the true effects): a simulator's noise-free judge of a ranking."""

    def area(order: np.ndarray) -> float:
        curve = np.r_[0.0, np.cumsum(true_uplift[order])]
        return float(np.sum(curve[1:] + curve[:-1]) / 2.0)

    random = len(true_uplift) * float(true_uplift.sum()) / 2.0
    best = area(np.argsort(-true_uplift, kind="stable"))
    return (area(np.argsort(-score, kind="stable")) - random) / (best - random)
