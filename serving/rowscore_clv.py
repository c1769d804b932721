"""``ClvModel.predict_frame`` on numpy columns (see ``serving.rowscore``).

The steps of ``training.clv.btyd_part.btyd_frame``, ``training.clv.outputs.clv_outputs``
and ``ClvModel.learned_horizon`` at the model's own horizon, with the same numeric cores
(BG/NBD, Gamma-Gamma, the keyed interval draws, the boosters on the same matrix).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from serving import fast_predict
from training.churn.encoding import dmatrix
from training.clv.btyd_part import BTYD_COLUMNS, log_offset
from training.clv.interval import interval
from training.clv.mle import check_rft, group_rows
from training.clv.model import blend
from training.clv.outputs import CLV_MONTHS, DAYS_PER_MONTH
from training.clv.rates import rate_columns

Columns = dict[str, np.ndarray]


def monthly_cumulative(bg: Any, hist: tuple[np.ndarray, ...], n_months: int) -> np.ndarray:
    """(histories, n_months): E[purchases in the next 1 … n_months months], in one call
    (the histories tiled once per month) instead of one call per month; elementwise the
    same numbers as ``conditional_expected_purchases(k * DAYS_PER_MONTH, *hist)``."""
    n = len(hist[0])
    months = np.repeat(np.arange(1, n_months + 1) * DAYS_PER_MONTH, n)
    tiled = [np.tile(h, n_months) for h in hist]
    cum = bg.conditional_expected_purchases(months, *tiled).reshape(n_months, n)
    return np.ascontiguousarray(cum.T)  # row-major, as column_stack: the same sums


def _summary(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, m: np.ndarray, bg: Any, gg: Any, c: Any,
    horizon_days: int,
) -> Columns:  # fmt: skip
    """``clv_outputs`` (unit_days 1) on arrays."""
    check_rft(x, t_x, T)
    first, inverse = group_rows((x, t_x, T))
    hist = (x[first], t_x[first], T[first])
    n_months = max(CLV_MONTHS)
    alive = bg.conditional_probability_alive(*hist)
    expected = bg.conditional_expected_purchases(float(horizon_days), *hist)
    flow = np.diff(monthly_cumulative(bg, hist, n_months), axis=1, prepend=0.0)
    discounted = flow / (1.0 + c.monthly_discount) ** np.arange(1, n_months + 1)
    total = flow.sum(axis=1)
    discount = np.divide(discounted.sum(axis=1), total, out=np.ones_like(total), where=total > 0)
    fixed = (x > 0) & (m <= 0)
    fixed_hist = np.zeros(len(first), dtype=bool)
    fixed_hist[inverse[fixed]] = True
    q = interval(
        bg, gg, hist, alive, discount, n_months * DAYS_PER_MONTH, c.n_draws, c.seed, fixed_hist
    )[inverse]
    per = gg.conditional_expected_average_spend(x, m)
    # btyd_part.btyd_frame's shape: the same discounted flow, per customer
    shape = np.column_stack([discounted[:, :k].sum(axis=1) for k in CLV_MONTHS])[inverse]
    out = {"prob_alive": alive[inverse], "expected": expected[inverse], "per": per}
    out["discounted"] = shape
    for k in CLV_MONTHS:
        out[f"clv_{k}m"] = discounted[:, :k].sum(axis=1)[inverse] * per
    scale = gg.v_ + np.where(fixed, 0.0, x * m)
    out["p10"] = np.where(fixed, np.minimum(m * q[:, 2], m * q[:, 3]), scale * q[:, 0])
    out["p90"] = np.where(fixed, np.maximum(m * q[:, 2], m * q[:, 3]), scale * q[:, 1])
    return out


def btyd_columns(model: Any, cols: Mapping[str, np.ndarray], n: int) -> Columns:
    """``btyd_frame(model.btyd, features, model.horizon_days, ...)`` on columns."""
    from serving.rowscore import num

    params, c, horizon = model.btyd, model.config, model.horizon_days
    t = num(cols, "btyd_T", n)
    ok = np.isfinite(t) & (t >= 0)
    bg, gg = params.purchases(), params.spend()
    names = ["prob_alive", "expected_purchases", "btyd_clv_horizon", "btyd_clv_12m_p10",
             "btyd_clv_12m_p90"] + [f"btyd_clv_{k}m" for k in CLV_MONTHS] \
        + [f"shape_{k}m" for k in CLV_MONTHS]  # fmt: skip
    out = {name: np.full(n, np.nan) for name in names}
    out["expected_spend_per_purchase"] = np.full(n, gg.population_mean_)
    if ok.any():
        x, t_x, T, m = (num(cols, col, n)[ok] for col in BTYD_COLUMNS)
        m = np.where(np.isnan(m), 0.0, m)
        res = _summary(x, t_x, T, m, bg, gg, c, horizon)
        if params.margin_prior == 0.0:
            rate = np.ones(int(ok.sum()))
        else:
            margin = np.nan_to_num(num(cols, "margin_total", n)[ok])
            gross = np.nan_to_num(num(cols, "gross_spend", n)[ok])
            prior = params.margin_prior
            rate = (margin + prior * params.margin_rate) / (gross + prior)
        purchases, per = res["expected"], res["per"]
        shape = res["discounted"] / np.maximum(purchases, 1e-12)[:, None]
        alive = res["prob_alive"]
        if params.alive_model != "bgnbd":
            alive = params.alive().conditional_probability_alive(x, t_x, T)
        out["prob_alive"][ok] = alive
        out["expected_purchases"][ok] = purchases
        out["expected_spend_per_purchase"][ok] = per
        out["btyd_clv_horizon"][ok] = purchases * per * rate
        for j, k in enumerate(CLV_MONTHS):
            out[f"btyd_clv_{k}m"][ok] = res[f"clv_{k}m"] * rate
            out[f"shape_{k}m"][ok] = shape[:, j]
        lo, hi = res["p10"] * rate, res["p90"] * rate
        out["btyd_clv_12m_p10"][ok] = np.minimum(lo, hi)
        out["btyd_clv_12m_p90"][ok] = np.maximum(lo, hi)
    return out


def clv_columns(model: Any, cols: Mapping[str, np.ndarray], n: int) -> Columns:
    """``ClvModel.predict_frame`` (its own horizon) on columns."""
    from serving.rowscore import design_x

    btyd = btyd_columns(model, cols, n)
    fb = model.fallback
    derived = {
        "btyd_prob_alive": btyd["prob_alive"],
        "btyd_expected_purchases": btyd["expected_purchases"],
        "btyd_spend_per_purchase": btyd["expected_spend_per_purchase"],
        "btyd_value_horizon": btyd["btyd_clv_horizon"],
    }
    if model.config.rate_features:
        derived.update(rate_columns(cols, n, model.config.target, model.horizon_days))
    x = design_x(model.encoding, {**cols, **derived}, n, "cintel-clv")
    # one DMatrix for both boosters: the negative part first, then the offset is set for
    # the positive part (a second DMatrix cost ~0.2 ms); names are the encoding's, in its
    # order (no per-call feature validation: ~0.1-0.3 ms a call on one row)
    dm = dmatrix(model.encoding, x)
    neg = (
        fast_predict.predict(model.negative, dm).astype("float64")
        if model.negative is not None
        else np.full(n, model.negative_constant)
    )
    if model.config.btyd_offset:
        value = btyd["btyd_clv_horizon"]
        dm.set_base_margin(log_offset(value, fb["offset_floor"], fb["offset_default"]))
    pos = fast_predict.predict(model.positive, dm).astype("float64")
    learned = blend(pos - neg, btyd["btyd_clv_horizon"], model.config.btyd_weight)
    shapes = {}
    for k in CLV_MONTHS:
        s = btyd[f"shape_{k}m"]
        shapes[k] = np.where(np.isnan(s), fb[f"shape_{k}m"], s)
    clv = {k: learned * shapes[k] for k in CLV_MONTHS}
    b12 = btyd["btyd_clv_12m"]
    safe = np.where(b12 > 0, b12, 1.0)
    lo = np.where(b12 > 0, btyd["btyd_clv_12m_p10"] / safe, fb["p10_ratio"])
    hi = np.where(b12 > 0, btyd["btyd_clv_12m_p90"] / safe, fb["p90_ratio"])
    use_btyd = (model.chosen == "btyd") & np.isfinite(b12)
    out: Columns = {
        "prob_alive": btyd["prob_alive"],
        "expected_purchases": btyd["expected_purchases"],
        "expected_spend_per_purchase": btyd["expected_spend_per_purchase"],
    }
    for k in CLV_MONTHS:
        out[f"clv_{k}m"] = np.where(use_btyd, btyd[f"btyd_clv_{k}m"], clv[k])
    c12, point = clv[12], out["clv_12m"]
    p10 = np.where(use_btyd, btyd["btyd_clv_12m_p10"], c12 + (lo - 1.0) * np.abs(c12))
    p90 = np.where(use_btyd, btyd["btyd_clv_12m_p90"], c12 + (hi - 1.0) * np.abs(c12))
    out["clv_12m_p10"] = np.minimum(p10, point)
    out["clv_12m_p90"] = np.maximum(p90, point)
    out["clv_model"] = np.where(use_btyd, "btyd", "learned").astype(object)
    out["btyd_clv_horizon"] = btyd["btyd_clv_horizon"]
    out["learned_clv_horizon"] = learned
    return out
