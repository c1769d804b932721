"""cintel-clv: BG/NBD × Gamma-Gamma plus an XGBoost model of future margin over the horizon.

Target: future **margin** by default (value tiers rank on margin, offers use clv_12m in the
same unit; ``ClvConfig(target="spend")`` models spend instead). On data without a margin
column (CDNOW) the contract sets margin = amount, so both coincide there.

Negative targets: margin is signed (returns, discount-only "value destroyers"), while
Tweedie needs y ≥ 0. We split y = y⁺ − y⁻ with y⁺ = max(y, 0), y⁻ = max(−y, 0) and fit one
Tweedie booster (log link, variance power ~1.4: a point mass at 0 plus a long right tail)
to each part; the prediction E[y⁺] − E[y⁻] is negative where the loss part dominates. The
y⁻ booster is small (few customers lose money); with fewer than ``min_negatives`` losses it
is replaced by their mean. A signed transform with squared error was rejected: it ranks
the long tail poorly and its back-transform is biased for totals.

Horizon value → 3/6/12-month CLV: clv_Nm = learned_horizon × shape_N, where shape_N is
the customer's BG/NBD time profile (discounted expected purchases over N months ÷ expected
purchases over the horizon; see btyd_part.btyd_frame). The p10/p90 interval keeps the BTYD
interval's relative width around the learned value, widened if needed to contain clv_12m.
Customers without purchases get the population median profile and interval width;
prob_alive/expected_purchases are NaN.

prob_alive comes from ``ClvConfig.alive_model`` (default "auto": BG/NBD, MBG/NBD or
Pareto/NBD, the best calibration log-likelihood). BG/NBD says every customer without a
repeat purchase is alive (P = 1), which on CDNOW put 60 % of customers at 1.00 although
most never came back; MBG/NBD and Pareto/NBD let them drop out. Expected purchases, the
CLV and its interval stay BG/NBD × Gamma-Gamma, the booster's base; customers first seen
on the last day before as_of (T = 0) are scored like any other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import xgboost as xgb

from training.churn.encoding import Encoding, design_matrix, dmatrix
from training.clv.btyd_part import (
    DERIVED_FEATURES,
    BtydParams,
    btyd_frame,
    derived_features,
    log_offset,
)
from training.clv.config import ClvConfig
from training.clv.memo import Memo
from training.clv.outputs import CLV_MONTHS
from training.clv.rates import RATE_FEATURES, rate_features
from training.mlops.manifest import read_manifest, write_manifest

KIND = "cintel-clv"
SCHEMA_VERSION = 1
POSITIVE_FILE = "positive.ubj"
NEGATIVE_FILE = "negative.ubj"
OUTPUT_COLUMNS = (
    "customer_id", "prob_alive", "expected_purchases", "expected_spend_per_purchase",
    "clv_3m", "clv_6m", "clv_12m", "clv_12m_p10", "clv_12m_p90", "clv_model",
    "btyd_clv_horizon", "learned_clv_horizon",
)  # fmt: skip


@dataclass
class ClvModel:
    """Fitted state. ``chosen`` ("learned" or "btyd") produced clv_12m on the validation
    split with the higher normalized Gini; ``fallback`` holds population shapes and
    interval ratios for customers without a BTYD profile."""

    config: ClvConfig
    btyd: BtydParams
    encoding: Encoding
    positive: xgb.Booster
    negative: xgb.Booster | None
    negative_constant: float
    horizon_days: int
    chosen: str
    fallback: dict[str, float]
    info: dict
    # set by a batch scoring many chunks (``serving.batch.materialize.score_all``): the CLV
    # interval of a history is drawn once per batch (``interval.interval``), None otherwise
    interval_memo: Memo | None = field(default=None, init=False, repr=False, compare=False)

    def mlflow_params(self) -> dict[str, float | str]:
        """The BTYD parameters, for the MLflow run's params."""
        b = self.btyd
        alive = {f"alive_{k}": v for k, v in b.alive().params_.items()}
        return {
            "bgnbd_r": b.r, "bgnbd_alpha": b.alpha, "bgnbd_a": b.a, "bgnbd_b": b.b,
            "gg_p": b.p, "gg_q": b.q, "gg_gamma": b.gamma,
            "alive_model_fitted": b.alive_model, **alive,
        }  # fmt: skip

    def _btyd(self, features: pd.DataFrame) -> pd.DataFrame:
        c = self.config
        return btyd_frame(
            self.btyd, features, self.horizon_days, c.monthly_discount, c.n_draws, c.seed,
            self.interval_memo,
        )  # fmt: skip

    def learned_horizon(self, features: pd.DataFrame, btyd: pd.DataFrame) -> np.ndarray:
        """Expected margin (or spend) over the training horizon from the two boosters."""
        missing = [c for c in self.encoding.feature_names if c not in features.columns]
        missing = [c for c in missing if c not in DERIVED_FEATURES and c not in RATE_FEATURES]
        if missing:
            raise ValueError(
                f"cintel-clv needs feature columns {missing[:8]} that the input lacks; score "
                "a snapshot built with the same families, channels and attributes"
            )
        frame = features.assign(**derived_features(btyd.set_index(features.index)))
        if self.config.rate_features:
            rates = rate_features(features, self.config.target, self.horizon_days)
            frame = frame.assign(**rates)
        x = design_matrix(self.encoding, frame)
        dm = dmatrix(self.encoding, x)
        dpos = dmatrix(self.encoding, x)
        if self.config.btyd_offset:
            fb = self.fallback
            value = btyd["btyd_clv_horizon"].to_numpy()
            dpos.set_base_margin(log_offset(value, fb["offset_floor"], fb["offset_default"]))
        pos = self.positive.predict(dpos).astype("float64")
        neg = (
            self.negative.predict(dm).astype("float64")
            if self.negative is not None
            else np.full(len(features), self.negative_constant)
        )
        return blend(pos - neg, btyd["btyd_clv_horizon"].to_numpy(), self.config.btyd_weight)

    def predict_frame(
        self, features: pd.DataFrame, horizon_days: int | None = None
    ) -> pd.DataFrame:
        """One row per input row (columns OUTPUT_COLUMNS). ``horizon_days`` (default: the
        training horizon) sets expected_purchases and the *_horizon values; a different
        horizon rescales the learned value by the BG/NBD ratio of expected purchases."""
        if "customer_id" not in features.columns:
            raise ValueError("features need a customer_id column")
        if "btyd_T" not in features.columns:
            raise ValueError("features need the btyd_* columns of a cintel snapshot")
        features = features.reset_index(drop=True)
        btyd = self._btyd(features)
        learned = self.learned_horizon(features, btyd)
        fb = self.fallback
        shapes = {k: btyd[f"shape_{k}m"].fillna(fb[f"shape_{k}m"]).to_numpy() for k in CLV_MONTHS}
        if horizon_days is not None and horizon_days != self.horizon_days:
            other = btyd_frame(
                self.btyd, features, horizon_days, self.config.monthly_discount, 1, 0
            )
            ratio = other["expected_purchases"] / btyd["expected_purchases"]
            learned = learned * ratio.fillna(horizon_days / self.horizon_days).to_numpy()
            btyd = btyd.assign(
                expected_purchases=other["expected_purchases"],
                btyd_clv_horizon=other["btyd_clv_horizon"],
            )
        clv = {k: learned * shapes[k] for k in CLV_MONTHS}
        b12 = btyd["btyd_clv_12m"].to_numpy()
        safe = np.where(b12 > 0, b12, 1.0)
        lo = np.where(b12 > 0, btyd["btyd_clv_12m_p10"].to_numpy() / safe, fb["p10_ratio"])
        hi = np.where(b12 > 0, btyd["btyd_clv_12m_p90"].to_numpy() / safe, fb["p90_ratio"])
        use_btyd = (self.chosen == "btyd") & np.isfinite(b12)
        out = pd.DataFrame({"customer_id": features["customer_id"].to_numpy()})
        out["prob_alive"] = btyd["prob_alive"].to_numpy()
        out["expected_purchases"] = btyd["expected_purchases"].to_numpy()
        out["expected_spend_per_purchase"] = btyd["expected_spend_per_purchase"].to_numpy()
        for k in CLV_MONTHS:
            out[f"clv_{k}m"] = np.where(use_btyd, btyd[f"btyd_clv_{k}m"].to_numpy(), clv[k])
        c12, point = clv[12], out["clv_12m"].to_numpy()
        # widened to contain the point value: with a mass at 0 (likely dead) the mean can
        # fall outside the 10-90 % draws, which a tier or an offer must never see
        p10 = np.where(use_btyd, btyd["btyd_clv_12m_p10"], c12 + (lo - 1.0) * np.abs(c12))
        p90 = np.where(use_btyd, btyd["btyd_clv_12m_p90"], c12 + (hi - 1.0) * np.abs(c12))
        out["clv_12m_p10"] = np.minimum(p10, point)
        out["clv_12m_p90"] = np.maximum(p90, point)
        out["clv_model"] = np.where(use_btyd, "btyd", "learned")
        out["btyd_clv_horizon"] = btyd["btyd_clv_horizon"].to_numpy()
        out["learned_clv_horizon"] = learned
        return out

    def manifest(self) -> dict:
        return {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "config": asdict(self.config),
            "horizon_days": self.horizon_days,
            "chosen": self.chosen,
            "btyd": asdict(self.btyd),
            "btyd_derived_features": list(DERIVED_FEATURES),
            **self.encoding.to_dict(),
            "positive_file": POSITIVE_FILE,
            "negative_file": NEGATIVE_FILE if self.negative is not None else None,
            "negative_constant": self.negative_constant,
            "prediction": "horizon value = positive.predict(base_margin = ln max(btyd value, "
            "offset_floor) if config.btyd_offset) - (negative.predict or negative_constant); "
            "horizon value = (1 - config.btyd_weight) * that + config.btyd_weight * btyd value "
            "where the btyd value is finite; clv_Nm = horizon value * shape_Nm",
            "fallback": self.fallback,
            "info": self.info,
        }

    def save(self, path: Path) -> None:
        """Write manifest.json and the boosters in XGBoost's native UBJ format."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.positive.save_model(path / POSITIVE_FILE)
        if self.negative is not None:
            self.negative.save_model(path / NEGATIVE_FILE)
        write_manifest(path, self.manifest())

    @classmethod
    def load(cls, path: Path) -> ClvModel:
        """Restore a model written by ``save``."""
        path = Path(path)
        manifest = read_manifest(path, KIND, SCHEMA_VERSION)
        # bundles from before the blend were pure boosters
        config = ClvConfig(**{"btyd_weight": 0.0, "rate_features": False, **manifest["config"]})

        def booster(name: str | None) -> xgb.Booster | None:
            if name is None:
                return None
            b = xgb.Booster()
            b.load_model(path / name)
            b.set_param({"nthread": config.nthread})
            return b

        positive = booster(manifest["positive_file"])
        assert positive is not None
        return cls(
            config=config,
            btyd=_btyd_params(manifest["btyd"]),
            encoding=Encoding.from_dict(manifest),
            positive=positive,
            negative=booster(manifest["negative_file"]),
            negative_constant=float(manifest["negative_constant"]),
            horizon_days=int(manifest["horizon_days"]),
            chosen=manifest["chosen"],
            fallback={k: float(v) for k, v in manifest["fallback"].items()},
            info=manifest["info"],
        )


def blend(learned: np.ndarray, btyd_value: np.ndarray, weight: float) -> np.ndarray:
    """(1 − weight) × learned + weight × the BTYD value, where that is finite."""
    if weight == 0.0:
        return learned
    mixed = (1.0 - weight) * learned + weight * btyd_value
    return cast(np.ndarray, np.where(np.isfinite(btyd_value), mixed, learned))


def _btyd_params(stored: dict) -> BtydParams:
    """BtydParams from a manifest (JSON lists back to tuples; older bundles lack alive_*)."""
    return BtydParams(**{**stored, "alive_params": tuple(stored.get("alive_params", ()))})
