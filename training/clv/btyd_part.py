"""The BG/NBD × Gamma-Gamma side of cintel-clv: fit on snapshot columns, per-customer outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from training.clv.bgnbd import BetaGeo
from training.clv.gamma_gamma import GammaGamma
from training.clv.mbgnbd import ModifiedBetaGeo
from training.clv.memo import Memo
from training.clv.outputs import CLV_MONTHS, clv_columns
from training.clv.pareto_nbd import ParetoNBD

BTYD_COLUMNS = ("btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary")
# models of being alive: BG/NBD says every one-time buyer is alive; MBG/NBD and Pareto/NBD
# let them drop out. "auto" takes the one with the highest calibration log-likelihood (all
# have four parameters, so this is also the AIC and BIC order).
ALIVE_MODELS: dict[str, type] = {
    "bgnbd": BetaGeo,
    "mbgnbd": ModifiedBetaGeo,
    "pareto_nbd": ParetoNBD,
}
ALIVE_CHOICES = (*ALIVE_MODELS, "auto")
# the BTYD outputs the booster sees as extra features (same names in the manifest)
DERIVED_FEATURES = (
    "btyd_prob_alive",
    "btyd_expected_purchases",
    "btyd_spend_per_purchase",
    "btyd_value_horizon",
)


@dataclass(frozen=True)
class BtydParams:
    """Fitted BG/NBD (days) and Gamma-Gamma parameters, and the spend-to-margin map.

    BTYD models spend per purchase (the snapshot's ``btyd_monetary`` is spend); a margin
    value is spend × the customer's margin rate, shrunk towards the population rate:
    (margin_total + c·rho) / (gross_spend + c). Value destroyers keep a negative rate.
    """

    r: float
    alpha: float
    a: float
    b: float
    p: float
    q: float
    gamma: float
    bgnbd_loglik: float
    gg_loglik: float
    margin_rate: float  # rho: population margin per unit of gross spend (1.0 for spend)
    margin_prior: float  # c: prior weight in money
    # the model behind prob_alive (bundles from before it existed: BG/NBD's own)
    alive_model: str = "bgnbd"
    alive_params: tuple[float, ...] = ()  # its four parameters; () for bgnbd
    alive_loglik: float | None = None

    def alive(self) -> Any:
        """The fitted estimator whose conditional_probability_alive gives prob_alive."""
        if self.alive_model == "bgnbd":
            return self.purchases()
        cls = ALIVE_MODELS[self.alive_model]
        model = cls()
        names = (
            ("r_", "alpha_", "a_", "b_")
            if cls is ModifiedBetaGeo
            else ("r_", "alpha_", "s_", "beta_")
        )
        for name, value in zip(names, self.alive_params, strict=True):
            setattr(model, name, float(value))
        return model

    def purchases(self) -> BetaGeo:
        bg = BetaGeo()
        bg.r_, bg.alpha_, bg.a_, bg.b_ = self.r, self.alpha, self.a, self.b
        return bg

    def spend(self) -> GammaGamma:
        gg = GammaGamma()
        gg.p_, gg.q_, gg.v_ = self.p, self.q, self.gamma
        return gg


def has_history(features: pd.DataFrame) -> np.ndarray:
    """Customers with at least one purchase before as_of (finite btyd_T > 0)."""
    t = pd.to_numeric(features["btyd_T"], errors="coerce").to_numpy(dtype="float64")
    return cast(np.ndarray, np.isfinite(t) & (t > 0))


def has_purchase(features: pd.DataFrame) -> np.ndarray:
    """Customers with a purchase before as_of, those first seen on its last day (T = 0)
    included: BTYD scores them (P(alive) from the model, no repeat yet), fits skip them."""
    t = pd.to_numeric(features["btyd_T"], errors="coerce").to_numpy(dtype="float64")
    return cast(np.ndarray, np.isfinite(t) & (t >= 0))


def fit_alive(
    x: np.ndarray, t_x: np.ndarray, t: np.ndarray, alive_model: str, bg: BetaGeo
) -> tuple[str, tuple[float, ...], float]:
    """(name, parameters, calibration log-likelihood) of the alive model; ``bg`` is reused."""
    if alive_model not in ALIVE_CHOICES:
        raise ValueError(
            f"alive_model must be one of {', '.join(ALIVE_CHOICES)}, got {alive_model!r}"
        )
    names = list(ALIVE_MODELS) if alive_model == "auto" else [alive_model]
    fitted = {n: bg if n == "bgnbd" else ALIVE_MODELS[n]().fit(x, t_x, t) for n in names}
    best = max(fitted, key=lambda n: float(fitted[n].loglik_))
    params = () if best == "bgnbd" else tuple(float(v) for v in fitted[best].params_.values())
    return best, params, float(fitted[best].loglik_)


def fit_btyd(frame: pd.DataFrame, target: str, alive_model: str = "bgnbd") -> BtydParams:
    """BG/NBD on the buyers' (frequency, recency, T) in days, Gamma-Gamma on repeat spenders,
    and the alive model (``ALIVE_CHOICES``) behind prob_alive."""
    buyers = frame.loc[has_history(frame)]
    x, t_x, t, m = (buyers[c].to_numpy(dtype="float64") for c in BTYD_COLUMNS)
    bg = BetaGeo().fit(x, t_x, t)
    gg = GammaGamma().fit(x, m)
    alive = fit_alive(x, t_x, t, alive_model, bg)
    rate, prior = 1.0, 0.0
    if target == "margin":
        gross = buyers["gross_spend"].to_numpy(dtype="float64")
        rate = float(buyers["margin_total"].sum() / max(gross.sum(), 1e-9))
        prior = float(np.median(gross[gross > 0])) if (gross > 0).any() else 1.0
    return BtydParams(
        bg.r_, bg.alpha_, bg.a_, bg.b_, gg.p_, gg.q_, gg.v_,
        float(bg.loglik_), float(gg.loglik_), rate, prior, *alive,
    )  # fmt: skip


def value_rate(params: BtydParams, features: pd.DataFrame) -> np.ndarray:
    """Margin per unit of spend for each customer (1 when the target is spend)."""
    if params.margin_prior == 0.0:
        return np.ones(len(features))
    margin = features["margin_total"].to_numpy(dtype="float64")
    gross = features["gross_spend"].to_numpy(dtype="float64")
    c = params.margin_prior
    return cast(
        np.ndarray, (np.nan_to_num(margin) + c * params.margin_rate) / (np.nan_to_num(gross) + c)
    )


def btyd_frame(
    params: BtydParams,
    features: pd.DataFrame,
    horizon_days: int,
    monthly_discount: float,
    n_draws: int,
    seed: int,
    memo: Memo | None = None,
) -> pd.DataFrame:
    """Per-row BTYD outputs in value units (margin or spend); NaN rows without a purchase.

    Columns: prob_alive (from ``params.alive_model``), expected_purchases (over the
    horizon), expected_spend_per_purchase (spend; the population mean for customers
    without purchases), btyd_clv_3m/6m/12m and
    its p10/p90, btyd_clv_horizon (undiscounted, what the learned model predicts), and
    shape_3m/6m/12m = discounted purchases over N months ÷ purchases over the horizon: the
    time profile that turns a horizon value into 3/6/12-month CLV.
    """
    n = len(features)
    ok = has_purchase(features)
    bg, gg = params.purchases(), params.spend()
    names = ["prob_alive", "expected_purchases", "btyd_clv_horizon", "btyd_clv_12m_p10",
             "btyd_clv_12m_p90"] + [f"btyd_clv_{k}m" for k in CLV_MONTHS] \
        + [f"shape_{k}m" for k in CLV_MONTHS]  # fmt: skip
    out = {name: np.full(n, np.nan) for name in names}
    out["expected_spend_per_purchase"] = np.full(n, gg.population_mean_)
    if ok.any():
        rows = features.loc[ok, list(BTYD_COLUMNS)].astype("float64")
        rows = rows.assign(btyd_monetary=rows["btyd_monetary"].fillna(0.0))
        res = clv_columns(
            rows, bg, gg, horizon_days=horizon_days, monthly_discount=monthly_discount,
            n_draws=n_draws, seed=seed, columns=BTYD_COLUMNS, memo=memo,
        )  # fmt: skip
        cols, inverse = res.columns, res.inverse
        rate = value_rate(params, features.loc[ok])
        purchases = cols[f"expected_purchases_{horizon_days}d"]
        per = cols["expected_spend_per_purchase"]
        # the discounted purchases of each distinct history, over the horizon's purchases
        shape = res.discounted[inverse] / np.maximum(purchases, 1e-12)[:, None]
        alive = cols["prob_alive"]
        if params.alive_model != "bgnbd":
            alive = params.alive().conditional_probability_alive(*res.hist)[inverse]
        out["prob_alive"][ok] = alive
        out["expected_purchases"][ok] = purchases
        out["expected_spend_per_purchase"][ok] = per
        out["btyd_clv_horizon"][ok] = purchases * per * rate
        for j, k in enumerate(CLV_MONTHS):
            out[f"btyd_clv_{k}m"][ok] = cols[f"clv_{k}m"] * rate
            out[f"shape_{k}m"][ok] = shape[:, j]
        lo, hi = (cols[f"clv_12m_{s}"] * rate for s in ("p10", "p90"))
        out["btyd_clv_12m_p10"][ok] = np.minimum(lo, hi)
        out["btyd_clv_12m_p90"][ok] = np.maximum(lo, hi)
    return pd.DataFrame(out, index=features.index)


def derived_features(btyd: pd.DataFrame) -> pd.DataFrame:
    """The BTYD outputs the booster uses as features, named as in DERIVED_FEATURES."""
    return pd.DataFrame(
        {
            "btyd_prob_alive": btyd["prob_alive"].to_numpy(),
            "btyd_expected_purchases": btyd["expected_purchases"].to_numpy(),
            "btyd_spend_per_purchase": btyd["expected_spend_per_purchase"].to_numpy(),
            "btyd_value_horizon": btyd["btyd_clv_horizon"].to_numpy(),
        },
        index=btyd.index,
    )


def log_offset(btyd_value: np.ndarray, floor: float, default: float) -> np.ndarray:
    """The positive booster's base margin: ln max(BTYD horizon value, floor), ln default
    without a BTYD value. With Tweedie's log link the booster then learns a multiplicative
    correction of BTYD, which extrapolates to the heaviest buyers as BTYD does."""
    value = np.where(np.isfinite(btyd_value), np.maximum(btyd_value, floor), default)
    return np.log(value)
