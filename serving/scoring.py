"""Score a feature payload with the loaded champions, and smoke-test a freshly loaded model."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from training.tasks import CHURN_HEADS, FittedModel

# model outputs copied into every request-log record (monitoring's prediction drift)
LOGGED_OUTPUTS = (
    "churn_probability",
    "prob_alive",
    "expected_purchases",
    "clv_12m",
    "value_tier",
    "segment",
    # the optional models' scores, when the store has them (issue 15)
    "churn_partial_probability",
    "potential_value_12m",
    "share_of_wallet",
    "potential_headroom",
)


# Inputs of the rule-based outputs: a missing value there would silently become a number
# (margin 0 is a value destroyer, frequency 0 a non-buyer, no BTYD history a new customer),
# so /score refuses a payload without them. The booster inputs may be left out.
REQUIRED_FEATURES: dict[str, str] = {
    "margin_365d": "value tier",
    "frequency": "RFM frequency and segment activity",
    "gross_spend": "segment activity",
    "recency_days": "RFM recency",
    "monetary_mean": "RFM monetary",
    "btyd_frequency": "prob_alive, expected purchases and CLV (BG/NBD)",
    "btyd_recency": "prob_alive, expected purchases and CLV (BG/NBD)",
    "btyd_T": "prob_alive, expected purchases and CLV (BG/NBD)",
    "btyd_monetary": "CLV (Gamma-Gamma)",
}
# empty in a snapshot for a customer without a purchase: null is their value when frequency is 0
EMPTY_WITHOUT_PURCHASE = frozenset(
    {"recency_days", "monetary_mean", "btyd_recency", "btyd_T", "btyd_monetary"}
)


class MissingFeatures(ValueError):
    """Required features absent (or null) from a /score payload; ``names`` lists them."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        uses = "; ".join(f"{n} ({REQUIRED_FEATURES[n]})" for n in names)
        super().__init__(
            f"required feature(s) missing: {uses}. Send them as numbers (null for "
            f"{', '.join(sorted(EMPTY_WITHOUT_PURCHASE))} when frequency is 0)"
        )


def _absent(features: Mapping[str, Any], name: str) -> bool:
    value = features.get(name)
    return value is None or (isinstance(value, float) and math.isnan(value))


def missing_features(features: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """Model inputs the payload leaves out or sends as null, sorted; raise MissingFeatures
    when a required one (of those the loaded models take) is among them. A required
    feature must be sent; null is its value only in EMPTY_WITHOUT_PURCHASE, with frequency 0."""
    missing = sorted(c for c in columns if c != "customer_id" and _absent(features, c))
    no_purchase = not _absent(features, "frequency") and features["frequency"] == 0
    required = [
        c
        for c in missing
        if c in REQUIRED_FEATURES
        and not (no_purchase and c in EMPTY_WITHOUT_PURCHASE and c in features)
    ]
    if required:
        raise MissingFeatures(required)
    return missing


# churn reasons (exact per-row contributions) only where they matter to an agent
REASONS_FROM = 0.3


def model_outputs(
    name: str,
    scorer: FittedModel,
    features: pd.DataFrame,
    reasons_from: float = REASONS_FROM,
    approx_reasons: bool = False,
) -> pd.DataFrame:
    """One model's store columns for ``features`` (rows in order, no ``customer_id``): what
    ``cintel materialize`` writes and what the service scores on read."""
    kwargs: dict[str, Any] = {}
    if name in CHURN_HEADS.values():  # both heads: reasons the same way
        kwargs = {"reasons_from": reasons_from, "approx_reasons": approx_reasons}
    model: Any = scorer  # the churn heads take reasons_from; the protocol does not
    pred = model.predict_frame(features, **kwargs).reset_index(drop=True)
    return cast(pd.DataFrame, pred.drop(columns=["customer_id"]))


# the models read features as float32: a value beyond its range would become infinity
FEATURE_LIMIT = float(np.finfo(np.float32).max)


class BadFeature(ValueError):
    """A /score feature value the models cannot take; ``name`` is the feature."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def score_features(
    scorers: Mapping[str, FittedModel],
    features: Mapping[str, Any],
    customer_id: str | None,
    columns: Sequence[str] = (),
) -> dict[str, Any]:
    """One flat row: the payload's features plus every model's outputs.

    Features the payload leaves out are missing values (NaN; None for ``attr_*``), which
    the models treat as unknown: a new customer rarely has a purchase history. A feature
    name no model knows is an error, so a typo is not silently ignored.
    """
    known = set(columns)
    unknown = sorted(k for k in features if known and k not in known)
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; the models take {sorted(known)}")
    for name, value in features.items():
        if isinstance(value, str) and not name.startswith("attr_"):
            raise BadFeature(name, f"feature {name!r} must be a number, got {value!r}")
        if isinstance(value, float | int) and not abs(value) <= FEATURE_LIMIT:
            raise BadFeature(
                name, f"feature {name!r} is {value!r}, outside the models' range (|x| <= 3.4e38)"
            )
    base = {c: (None if c.startswith("attr_") else math.nan) for c in columns}
    base.pop("customer_id", None)
    frame = pd.DataFrame([{"customer_id": customer_id or "cold-start", **base, **features}])
    row: dict[str, Any] = {str(k): v for k, v in frame.iloc[0].to_dict().items()}
    for _, scorer in sorted(scorers.items()):
        out = scorer.predict_frame(frame).iloc[0].to_dict()
        row.update({str(k): v for k, v in out.items() if k != "customer_id"})
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


def smoke_test(model: str, scorer: FittedModel, folder: Path) -> list[str]:
    """Raise unless the model scores its own input example into finite numbers; return the
    example's columns (the model's inputs). One implementation with ``cintel promote``,
    ``rollback`` and the gate: ``training.mlops.verify.smoke_test``."""
    from training.mlops.verify import smoke_test as verify_smoke

    return verify_smoke(model, scorer, folder)
