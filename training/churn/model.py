"""Churn model: XGBoost on snapshot features, isotonic calibration, reason codes.

Risk never falls as days since the last purchase grow, all else equal: ``recency_days``
carries an XGBoost monotone constraint (+1) and the isotonic map is non-decreasing, so
the calibrated probability is non-decreasing in recency by construction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from training.churn.btyd import btyd_features, logit_offset
from training.churn.calibration import apply_isotonic
from training.churn.config import ChurnConfig
from training.churn.encoding import Encoding, design_matrix, dmatrix
from training.churn.horizon import METHOD, rescale
from training.churn.reasons import ReasonTable, explain
from training.churn.rows import TARGETS
from training.churn.shap import PatternShap
from training.clv.btyd_part import BtydParams
from training.mlops.manifest import MANIFEST_FILE, read_manifest, write_manifest

KIND = "cintel-churn"
# one model class, two heads: the manifest kind (registered name) and the store columns'
# prefix of each target (``<prefix>_probability``, ``<prefix>_reasons``)
KINDS = {"churn": KIND, "partial_churn": "cintel-churn-partial"}
OUTPUT_PREFIX = {"churn": "churn", "partial_churn": "churn_partial"}
SCHEMA_VERSION = 1
BOOSTER_FILE = "booster.ubj"
REASON_SEPARATOR = "; "
# from this many rows on, exact contributions go per decision pattern (training/churn/shap.py)
PATTERN_SHAP_ROWS = 2_000
PATTERN_CHECK_ROWS = 32  # rows checked against XGBoost's own TreeSHAP on every call
log = logging.getLogger(__name__)


@dataclass
class ChurnModel:
    """Learned state; ``info`` holds the training summary written to the manifest."""

    config: ChurnConfig
    encoding: Encoding
    booster: xgb.Booster
    calib_x: np.ndarray
    calib_y: np.ndarray
    reason_table: ReasonTable
    info: dict
    # BTYD purchase model behind the btyd_* features (None: a model without them)
    btyd: BtydParams | None = None
    btyd_days: int = 0  # the window of btyd_p_no_purchase / btyd_expected_purchases
    offset_fallback: float = 0.5  # base rate: the base margin of rows without a history
    horizon: dict = field(default_factory=dict)  # see training/churn/horizon.py
    _pattern_shap: PatternShap | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def label_column(self) -> str:
        return TARGETS[self.config.target]

    @property
    def output_prefix(self) -> str:
        """``churn`` (total churn) or ``churn_partial``: the prefix of the output columns."""
        return OUTPUT_PREFIX[self.config.target]

    def with_derived(self, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` plus the BTYD columns the booster takes (unchanged without them)."""
        if self.btyd is None:
            return features
        return features.assign(**btyd_features(self.btyd, features, self.btyd_days))

    def _dmatrix(self, features: pd.DataFrame) -> xgb.DMatrix:
        frame = self.with_derived(features)
        dm = dmatrix(self.encoding, design_matrix(self.encoding, frame))
        if self.btyd is not None and self.config.btyd_offset:
            p0 = frame["btyd_p_no_purchase"].to_numpy(dtype="float64")
            dm.set_base_margin(logit_offset(p0, self.offset_fallback))
        return dm

    def raw_score(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated booster probability (what the calibration map takes)."""
        return self.booster.predict(self._dmatrix(features)).astype("float64")

    @property
    def label_days(self) -> int:
        """The label window the booster learned (the training snapshot's horizon)."""
        return int(self.info.get("horizon_days") or self.btyd_days or 0)

    @property
    def served_days(self) -> int:
        """The horizon ``predict_proba`` answers for by default (see ``at_horizon``)."""
        return int(self.horizon.get("served_days") or self.label_days)

    def at_horizon(self, days: int) -> ChurnModel:
        """This model answering for ``days`` by default (``cintel train`` with a label
        window shorter than its horizon); the rescaling is in training/churn/horizon.py.

        Partial churn compares two windows of the label's length, so it has no rescaling:
        ValueError when ``days`` is not the label window (``cintel train`` then skips it)."""
        if days < 1:
            raise ValueError(f"a churn horizon must be at least 1 day, got {days}")
        if self.config.target != "churn" and self.label_days and days != self.label_days:
            raise ValueError(
                f"partial churn compares spend in two windows of the label's length: "
                f"learned on {self.label_days}-day windows, it cannot answer for {days} days "
                f"(the history is too short for two {days}-day windows; use "
                f"--horizon-days {self.label_days} or more data)"
            )
        served = {"served_days": int(days), "label_days": self.label_days, "method": METHOD}
        return replace(self, horizon=served)

    def defined(self, features: pd.DataFrame) -> np.ndarray:
        """Rows the target is defined for: every row for total churn; for partial churn
        the customers with a transaction in the label window before as_of (days since the
        last one at most ``label_days``: a partial drop needs spend to drop from)."""
        if self.config.target == "churn" or not self.label_days:
            return np.ones(len(features), dtype=bool)
        recency = features["recency_days"].to_numpy(dtype="float64")
        return np.asarray(recency <= self.label_days)

    def predict_proba(self, features: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        """Calibrated P(no purchase in the next ``horizon_days``) per row (default:
        ``served_days``); other horizons than the label window are rescaled. Partial churn:
        P(still buying, below half the spend of the window before); NaN where undefined."""
        tie_break = self.config.calibration_tie_break
        p = apply_isotonic(self.raw_score(features), self.calib_x, self.calib_y, tie_break)
        if self.config.target != "churn":
            return np.where(self.defined(features), p, np.nan)
        days = self.served_days if horizon_days is None else int(horizon_days)
        if days == self.label_days or not self.label_days:
            return p
        return rescale(p, self.label_days, days, features.reset_index(drop=True), self.btyd)

    def contributions(self, features: pd.DataFrame, approx: bool = False) -> np.ndarray:
        """Per-row, per-feature log-odds contributions; the last column is the bias.

        Exact TreeSHAP by default; ``approx`` uses XGBoost's ``approx_contribs`` (Saabas:
        each split's change of the expected value goes to its feature), about 25 times
        cheaper, which can rank drivers differently."""
        return self.booster.predict(
            self._dmatrix(features), pred_contribs=True, approx_contribs=approx
        )

    def feature_contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP contributions of the features (no bias column) for ``frame``
        (features plus ``with_derived``'s columns): equal, bit for bit, to those of
        ``contributions``. Many rows go per decision pattern (``PatternShap``), several
        times cheaper; its first rows are checked against XGBoost's on every call."""
        matrix = design_matrix(self.encoding, frame)
        n_features = matrix.shape[1]
        if len(matrix) < PATTERN_SHAP_ROWS:
            return self.booster.predict(dmatrix(self.encoding, matrix), pred_contribs=True)[
                :, :n_features
            ]
        if self._pattern_shap is None:
            self._pattern_shap = PatternShap(
                self.booster, lambda rows: dmatrix(self.encoding, rows)
            )
        shap = self._pattern_shap
        if shap.supported:
            out = shap.contributions(matrix)
            head = matrix[:PATTERN_CHECK_ROWS]
            check = self.booster.predict(dmatrix(self.encoding, head), pred_contribs=True)
            if np.array_equal(out[:PATTERN_CHECK_ROWS], check[:, :n_features]):
                return out
            log.warning("per-pattern TreeSHAP differs from XGBoost's; using XGBoost's")
        full = self.booster.predict(dmatrix(self.encoding, matrix), pred_contribs=True)
        return full[:, :n_features]

    def reasons(
        self, features: pd.DataFrame, top: int | None = None, approx: bool = False
    ) -> list[list[str]]:
        """Up to ``top`` sentences per row for the drivers that push the risk up."""
        top = self.config.reason_top if top is None else top
        names = list(self.encoding.feature_names)
        frame = self.with_derived(features)
        if approx:
            contribs = self.contributions(features, approx)
        else:
            contribs = self.feature_contributions(frame)
        return explain(contribs, frame, names, self.reason_table, top)

    def predict_frame(
        self, features: pd.DataFrame, reasons_from: float = 0.0, approx_reasons: bool = False
    ) -> pd.DataFrame:
        """customer_id, churn_probability (calibrated) and churn_reasons (a '; '-joined
        string of up to ``reason_top`` sentences, most important first; '' when none);
        ``churn_partial_probability`` and ``churn_partial_reasons`` for the partial head.

        Batch callers may ask for reasons only where the probability is at least
        ``reasons_from``; the others get ''. Exact contributions of many rows go per
        decision pattern (``feature_contributions``). ``approx_reasons`` ranks drivers by
        approximate contributions."""
        if "customer_id" not in features.columns:
            raise ValueError("features need a customer_id column")
        proba = self.predict_proba(features)
        text = np.full(len(features), "", dtype=object)
        wanted = np.flatnonzero(proba >= reasons_from)
        if len(wanted):
            chosen = features.iloc[wanted]
            reasons = self.reasons(chosen, approx=approx_reasons)
            text[wanted] = [REASON_SEPARATOR.join(r) for r in reasons]
        prefix = self.output_prefix
        return pd.DataFrame(
            {
                "customer_id": features["customer_id"].to_numpy(),
                f"{prefix}_probability": proba,
                f"{prefix}_reasons": text,
            }
        )

    def manifest(self) -> dict:
        return {
            "kind": KINDS[self.config.target],
            "schema_version": SCHEMA_VERSION,
            "booster_file": BOOSTER_FILE,
            "target": self.config.target,
            "label_column": self.label_column,
            "config": asdict(self.config),
            **self.encoding.to_dict(),
            "monotone_constraints": list(self.encoding.monotone_constraints()),
            "calibration": {
                "method": "isotonic; p = (1 - tie_break) * np.interp(booster probability, x, y)"
                " + tie_break * booster probability",
                "tie_break": self.config.calibration_tie_break,
                "x": self.calib_x.tolist(),
                "y": self.calib_y.tolist(),
            },
            "reasons": {
                "top": self.config.reason_top,
                "separator": REASON_SEPARATOR,
                "contributions": "booster.predict(DMatrix(row), pred_contribs=True); "
                "drivers are features with contribution > 0, largest first",
                **self.reason_table.to_dict(),
            },
            "btyd": None if self.btyd is None else asdict(self.btyd),
            "btyd_days": self.btyd_days,
            "offset_fallback": self.offset_fallback,
            "horizon": self.horizon,
            "info": self.info,
        }

    def save(self, path: Path) -> None:
        """Write manifest.json and the booster in XGBoost's native UBJ format."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(path / BOOSTER_FILE)
        manifest = _json_safe(self.manifest())
        assert isinstance(manifest, dict)
        write_manifest(path, manifest)

    @classmethod
    def load(cls, path: Path) -> ChurnModel:
        """Restore a model written by ``save``."""
        path = Path(path)
        kind = json.loads((path / MANIFEST_FILE).read_text()).get("kind")
        manifest = read_manifest(path, kind if kind in KINDS.values() else KIND, SCHEMA_VERSION)
        booster = xgb.Booster()
        booster.load_model(path / manifest["booster_file"])
        # bundles from before the tie-break keep the plain isotonic map
        config = ChurnConfig(**{"calibration_tie_break": 0.0, **manifest["config"]})
        booster.set_param({"nthread": config.nthread})
        table = ReasonTable.from_dict(manifest["reasons"])
        medians = {k: np.nan if v is None else float(v) for k, v in table.medians.items()}
        return cls(
            config=config,
            encoding=Encoding.from_dict(manifest),
            booster=booster,
            calib_x=np.asarray(manifest["calibration"]["x"], dtype="float64"),
            calib_y=np.asarray(manifest["calibration"]["y"], dtype="float64"),
            reason_table=ReasonTable(table.labels, medians, table.templates, table.derived),
            info=manifest["info"],
            btyd=None if manifest.get("btyd") is None else _btyd_params(manifest["btyd"]),
            btyd_days=int(manifest.get("btyd_days", 0)),
            offset_fallback=float(manifest.get("offset_fallback", 0.5)),
            horizon=dict(manifest.get("horizon") or {}),
        )


def _btyd_params(stored: dict) -> BtydParams:
    """BtydParams from a manifest (JSON lists back to tuples)."""
    return BtydParams(**{**stored, "alive_params": tuple(stored.get("alive_params", ()))})


def reasons(model: ChurnModel, features: pd.DataFrame, top: int = 3) -> list[list[str]]:
    """Per row, up to ``top`` sentences for the drivers that push the churn risk up."""
    return model.reasons(features, top)


def _json_safe(value: object) -> object:
    """NaN/inf become null so the manifest is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
