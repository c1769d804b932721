"""Cross-sell propensity per product family: one small XGBoost booster per (family, kind).

Two kinds per family: ``any`` (P(buys the family in the horizon), every customer,
``label_buy__<fam>``) and ``first`` (P(buys it for the first time), only customers who
never bought it, ``label_first__<fam>`` — the cross-sell case).

Why separate boosters rather than one multi-output model: the ``first`` population is
different for each family (a customer is in it for the families they never bought), so a
multi-output tree would need a masked loss that XGBoost 3's multi-output trees do not
offer; separate boosters also let each family stop early at its own number of trees, be
skipped on its own when it has too few positives (recorded in ``skipped_``), and be
scored one by one in the service with plain ``xgboost.Booster``. With 4-10 families that
is 8-20 small boosters (depth 4, <= 300 trees, early stopping), a few seconds in all.

No class weights: the outputs are used as probabilities (expected value of an offer), so
the logistic loss is left unweighted. On one-family data (CDNOW) ``first`` is skipped:
the first purchase of the only family is an acquisition, not a cross-sell.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from training.data.features import slugs
from training.mlops.manifest import read_manifest, write_manifest
from training.propensity.config import PropensityConfig
from training.propensity.encoding import Design

KIND = "cintel-propensity"
SCHEMA_VERSION = 1
KINDS = ("any", "first")


def label_column(kind: str, fam_slug: str) -> str:
    return f"label_{'buy' if kind == 'any' else 'first'}__{fam_slug}"


def output_column(kind: str, fam_slug: str) -> str:
    return f"propensity_{kind}__{fam_slug}"


@dataclass
class PropensityModel:
    """Fitted boosters keyed ``"<kind>:<family slug>"``; ``skipped_`` says why others are not."""

    families: tuple[str, ...]
    design: Design
    boosters_: dict[str, xgb.Booster]
    skipped_: dict[str, str]
    config: PropensityConfig = field(default_factory=PropensityConfig)
    n_train_: dict[str, int] = field(default_factory=dict)

    @property
    def slugs(self) -> list[str]:
        return slugs(list(self.families))

    @property
    def output_columns(self) -> list[str]:
        return [output_column(k, s) for k in KINDS for s in self.slugs]

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """``propensity_any__<fam>`` and ``propensity_first__<fam>`` per input row.

        ``first`` is NaN where the customer already bought the family
        (``fam_count__<fam> > 0``); a skipped (family, kind) is NaN throughout.
        """
        x = self.design.transform(features)
        out: dict[str, object] = {"customer_id": features["customer_id"].to_numpy()}
        for kind in KINDS:
            for s in self.slugs:
                key = f"{kind}:{s}"
                pred = np.full(len(features), np.nan)
                if key in self.boosters_ and len(features):
                    pred = self.boosters_[key].inplace_predict(x).astype("float64")
                if kind == "first":
                    bought = features[f"fam_count__{s}"].to_numpy(dtype="float64") > 0
                    pred = np.where(bought, np.nan, pred)
                out[output_column(kind, s)] = pred
        return pd.DataFrame(out, index=features.index)

    def save(self, path: Path) -> None:
        """``manifest.json`` plus one native ``<kind>__<fam>.ubj`` per booster; no pickle."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        files = {}
        for key, booster in self.boosters_.items():
            kind, s = key.split(":", 1)
            files[key] = f"{kind}__{s}.ubj"
            booster.save_model(path / files[key])
        manifest = {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "families": list(self.families),
            "family_slugs": self.slugs,
            "feature_names": self.design.names,
            "design": self.design.to_dict(),
            "boosters": files,
            "skipped": self.skipped_,
            "n_train": self.n_train_,
            "outputs": self.output_columns,
            "first_is_nan_where": "fam_count__<fam> > 0",
            "config": asdict(self.config),
        }
        write_manifest(path, manifest)

    @classmethod
    def load(cls, path: Path) -> PropensityModel:
        path = Path(path)
        manifest = read_manifest(path, KIND, SCHEMA_VERSION)
        config = PropensityConfig(**manifest["config"])
        boosters = {}
        for key, name in manifest["boosters"].items():
            booster = xgb.Booster(model_file=str(path / name))
            booster.set_param({"nthread": config.n_jobs})
            boosters[key] = booster
        return cls(
            families=tuple(manifest["families"]),
            design=Design.from_dict(manifest["design"]),
            boosters_=boosters,
            skipped_=dict(manifest["skipped"]),
            config=config,
            n_train_=dict(manifest["n_train"]),
        )
