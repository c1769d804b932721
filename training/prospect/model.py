"""cintel-prospect: score people from their attributes alone ("cloning" the best customers).

Three small XGBoost models over the customers table's attributes, fitted on a signup
cohort's first year (``training.prospect.cohort``):

- ``lookalike_score``: P(top tier within a year | attributes), a classifier of
  ``label_top_tier``. Chosen over a distance to the best customers' attribute
  distribution: what ranks prospects is how much *more* common an attribute profile is
  among the best customers than among all new customers (the density ratio
  p(x | top) / p(x), to which the classifier's probability is monotone), while a distance
  to the best customers alone rates a profile that is common everywhere as a look-alike.
  The classifier also learns from the customers who did not become top tier, and is
  judged on exactly what it is used for (the AUC of becoming top tier).
  ``lookalike_lift`` is the score over the training cohort's top-tier rate.
- ``expected_first_year_value``: the mean first-year margin of similar customers (squared
  error regression; negative for profiles that tend to cost money).
- ``first_offer_family``: of the first-year purchase probabilities of each family among
  similar customers (one multi-label classifier over the families), the family where the
  profile most over-indexes: the highest probability over that family's rate among all
  new customers (``first_offer_lift``), with its probability. Not simply the most likely
  family: the one nearly everyone buys (fresh food for 84 % of the simulator's new
  customers) would be every prospect's first offer and say nothing about them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from training.churn.encoding import MAX_CATEGORIES, Encoding, design_matrix, dmatrix, fit_encoding
from training.data.features import slugs
from training.data.snapshot import Snapshot
from training.mlops.manifest import read_manifest, write_manifest
from training.prospect.cohort import BUY_PREFIX, LABEL, MARGIN, attribute_columns

KIND = "cintel-prospect"
SCHEMA_VERSION = 1
FILES = {"lookalike": "lookalike.ubj", "value": "value.ubj", "offers": "offers.ubj"}
OUTPUTS = (
    "lookalike_score",
    "lookalike_lift",
    "expected_first_year_value",
    "first_offer_family",
    "first_offer_probability",
    "first_offer_lift",
)


@dataclass(frozen=True)
class ProspectConfig:
    """The boosters' settings (small trees: a few attributes, weak signals) and the
    evaluation cohort's length in days (``cohort_days``)."""

    n_estimators: int = 100
    learning_rate: float = 0.05
    max_depth: int = 2
    min_child_weight: float = 50.0
    reg_lambda: float = 5.0
    cohort_days: int = 182
    nthread: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 30 <= self.cohort_days <= 3650:
            raise ValueError(f"cohort_days must be between 30 and 3650, got {self.cohort_days}")


@dataclass
class ProspectModel:
    """Learned state: the attributes' encoding, the three boosters and what they learned
    on (``info``: base rate, tier cut, cohort sizes, the attributes' own names)."""

    config: ProspectConfig
    encoding: Encoding
    lookalike: xgb.Booster
    value: xgb.Booster
    offers: xgb.Booster
    families: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def attributes(self) -> dict[str, str]:
        """The customers table's attribute names -> their model columns (``attr_<slug>``)."""
        return dict(self.info["attributes"])

    @property
    def closed_categories(self) -> dict[str, list[str]]:
        """Text attributes whose every training value is known (an unseen one is an error,
        a typo; a column with more than MAX_CATEGORIES values keeps only its most common)."""
        return {c: self.encoding.categories[c] for c in self.info.get("closed", [])}

    def _matrix(self, features: pd.DataFrame) -> xgb.DMatrix:
        try:
            x = design_matrix(self.encoding, features)
        except ValueError as exc:
            raise ValueError(str(exc).replace("churn model", "prospect model")) from None
        return dmatrix(self.encoding, x)

    def family_probabilities(self, features: pd.DataFrame) -> np.ndarray:
        """P(buys the family in the first year), one column per family in ``families``."""
        p = np.asarray(self.offers.predict(self._matrix(features)), dtype="float64")
        return p.reshape(len(features), len(self.families))

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """customer_id and ``OUTPUTS`` per row of attributes (``attr_<name>`` columns)."""
        if "customer_id" not in features.columns:
            raise ValueError("prospect features need a customer_id column")
        m = self._matrix(features)
        score = np.asarray(self.lookalike.predict(m), dtype="float64")
        value = np.asarray(self.value.predict(m), dtype="float64")
        fam = np.asarray(self.offers.predict(m), dtype="float64")
        fam = fam.reshape(len(features), len(self.families))
        rates = np.asarray(self.info["family_rates"], dtype="float64")
        lift = np.divide(fam, rates, out=np.zeros_like(fam), where=rates > 0)
        best = lift.argmax(axis=1) if len(self.families) else np.zeros(len(features), int)
        rows = np.arange(len(fam))
        base = float(self.info["base_rate"])
        return pd.DataFrame(
            {
                "customer_id": features["customer_id"].to_numpy(),
                "lookalike_score": score,
                "lookalike_lift": score / base if base > 0 else np.full(len(score), np.nan),
                "expected_first_year_value": value,
                "first_offer_family": np.asarray(self.families, dtype=object)[best],
                "first_offer_probability": fam[rows, best],
                "first_offer_lift": lift[rows, best],
            }
        )

    def mlflow_params(self) -> dict[str, object]:
        keep = ("n_train", "base_rate", "tier_cut", "train_signups")
        return {f"prospect.{k}": self.info[k] for k in keep if self.info.get(k) is not None}

    def save(self, path: Path) -> None:
        """manifest.json and the three boosters in XGBoost's native UBJ format."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for key, name in FILES.items():
            getattr(self, key).save_model(path / name)
        manifest = {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "files": FILES,
            "config": asdict(self.config),
            "families": list(self.families),
            **self.encoding.to_dict(),
            "info": self.info,
        }
        write_manifest(path, manifest)

    @classmethod
    def load(cls, path: Path) -> ProspectModel:
        """Restore a model written by ``save``."""
        manifest = read_manifest(Path(path), KIND, SCHEMA_VERSION)
        config = ProspectConfig(**manifest["config"])
        boosters = {}
        for key, name in manifest["files"].items():
            booster = xgb.Booster()
            booster.load_model(Path(path) / name)
            booster.set_param({"nthread": config.nthread})
            boosters[key] = booster
        return cls(
            config,
            Encoding.from_dict(manifest),
            boosters["lookalike"],
            boosters["value"],
            boosters["offers"],
            tuple(manifest["families"]),
            manifest["info"],
        )


def _params(config: ProspectConfig, objective: str) -> dict[str, Any]:
    return {
        "objective": objective,
        "tree_method": "hist",
        "learning_rate": config.learning_rate,
        "max_depth": config.max_depth,
        "min_child_weight": config.min_child_weight,
        "lambda": config.reg_lambda,
        "max_cat_to_onehot": 1,
        "nthread": config.nthread,
        "seed": config.seed,
    }


def fit(snapshot: Snapshot, config: ProspectConfig | None = None) -> ProspectModel:
    """The three boosters on a training cohort (``cohort.build_cohorts``); ValueError
    when the table has no attributes or no customer became top tier."""
    config = config or ProspectConfig()
    rows = snapshot.frame
    columns = attribute_columns(rows)
    if not columns:
        raise ValueError("prospect: the cohort has no attr_* columns to learn from")
    y = rows[LABEL].to_numpy(dtype="float64")
    if not 0 < y.sum() < len(y):
        raise ValueError(f"prospect: {int(y.sum())} of {len(y)} customers became top tier")
    enc = fit_encoding(rows, columns)
    x = design_matrix(enc, rows)
    rounds = config.n_estimators
    lookalike = xgb.train(
        _params(config, "binary:logistic"), dmatrix(enc, x, y), num_boost_round=rounds
    )
    margin = rows[MARGIN].to_numpy(dtype="float64")
    value = xgb.train(
        _params(config, "reg:squarederror"), dmatrix(enc, x, margin), num_boost_round=rounds
    )
    families = tuple(snapshot.families)
    buys = rows[[f"{BUY_PREFIX}{s}" for s in slugs(list(families))]].to_numpy(dtype="float64")
    offers = xgb.train(
        _params(config, "binary:logistic"), dmatrix(enc, x, buys), num_boost_round=rounds
    )
    info = {
        "n_train": len(rows),
        "base_rate": float(y.mean()),
        "mean_first_year_value": float(margin.mean()),
        "family_rates": [float(r) for r in buys.mean(axis=0)],
        "attributes": dict(snapshot_attributes(snapshot)),
        "closed": [
            c for c in enc.categories if rows[c].dropna().astype(str).nunique() <= MAX_CATEGORIES
        ],
        "tier_cut": _finite_or_none(rows.attrs.get("tier_cut")),
        "train_signups": f"from {snapshot.as_of:%Y-%m-%d}",
    }
    return ProspectModel(config, enc, lookalike, value, offers, families, info)


def _finite_or_none(value: object) -> float | None:
    """A number the JSON manifest can hold (no NaN or infinity), else None."""
    if not isinstance(value, int | float) or not np.isfinite(value):
        return None
    return float(value)


def snapshot_attributes(snapshot: Snapshot) -> dict[str, str]:
    """Attribute names of the customers table -> model columns, as the cohort kept them
    (``Snapshot.frame.attrs``; the slug itself when the table came from elsewhere)."""
    names: dict[str, str] = snapshot.frame.attrs.get("attributes", {})
    columns = attribute_columns(snapshot.frame)
    return names or {c.removeprefix("attr_"): c for c in columns}
