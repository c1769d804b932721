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

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from training.data.features import slugs
from training.data.snapshot import Snapshot
from training.mlops.manifest import read_manifest, write_manifest
from training.propensity.encoding import Design
from training.propensity.train import skip_reason, train_booster

KIND = "cintel-propensity"
SCHEMA_VERSION = 1
KINDS = ("any", "first")
MAIN_METRIC = "mean_roc_auc_any"
GREATER_IS_BETTER = True
FLOORS: dict[str, float] = {MAIN_METRIC: 0.6}
MIN_CUSTOMERS = 50


@dataclass(frozen=True)
class PropensityConfig:
    """Booster settings and the minimum label counts below which a model is skipped."""

    max_depth: int = 4
    learning_rate: float = 0.1
    n_estimators: int = 300
    early_stopping_rounds: int = 20
    min_child_weight: float = 1.0
    subsample: float = 0.9
    colsample_bytree: float = 0.8
    valid_fraction: float = 0.2
    min_positives: int = 10
    min_negatives: int = 10
    # 1, not 2: many small boosters; on a busy 2-core box OpenMP with 2 threads ran 5-10x slower
    n_jobs: int = 1
    seed: int = 0


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


def check_snapshot(
    labelled: bool, families: Sequence[str], columns: list[str], n_customers: int
) -> list[str]:
    """The family slugs of a snapshot fit for training, or a ValueError saying what is wrong."""
    if not labelled:
        raise ValueError(
            "the snapshot has no labels (the data does not cover the horizon after as_of); "
            "build it with an earlier as_of"
        )
    if n_customers < MIN_CUSTOMERS:
        raise ValueError(
            f"{n_customers} customers in the snapshot; the propensity model needs at least "
            f"{MIN_CUSTOMERS}"
        )
    fam_slugs = slugs(list(families))
    missing = [
        label_column(k, s) for k in KINDS for s in fam_slugs if label_column(k, s) not in columns
    ]
    if missing:
        raise ValueError(f"label columns missing from the snapshot: {', '.join(missing)}")
    return fam_slugs


def fit_all(
    fam_slugs: list[str],
    config: PropensityConfig,
    label_counts: Callable[[str], tuple[int, int]],
    train: Callable[[str, int], xgb.Booster],
) -> tuple[dict[str, xgb.Booster], dict[str, str], dict[str, int]]:
    """Boosters, skip reasons and training sizes for every (kind, family), whatever the engine.

    ``label_counts(column)`` gives (positives, labelled customers); ``train(column, seed)``
    fits one booster on the customers labelled in ``column``."""
    boosters: dict[str, xgb.Booster] = {}
    skipped: dict[str, str] = {}
    n_train: dict[str, int] = {}
    for k_i, kind in enumerate(KINDS):
        for f_i, s in enumerate(fam_slugs):
            key = f"{kind}:{s}"
            if kind == "first" and len(fam_slugs) == 1:
                skipped[key] = (
                    "only one product family: there is no other family to cross-sell; a first "
                    "purchase of the only family is an acquisition, so 'first' is not modelled"
                )
                continue
            column = label_column(kind, s)
            pos, n = label_counts(column)
            reason = skip_reason(pos, n, config)
            if reason is not None:
                skipped[key] = f"{reason} among {n} eligible customers"
                continue
            boosters[key] = train(column, config.seed + 1000 * k_i + f_i)
            n_train[key] = n
    if not boosters:
        detail = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise ValueError(f"no propensity model could be trained (no positive labels?): {detail}")
    return boosters, skipped, n_train


def fit(snapshot: Snapshot, config: PropensityConfig | None = None) -> PropensityModel:
    """One booster per family and kind on a labelled snapshot; too-rare ones are skipped."""
    config = PropensityConfig() if config is None else config
    frame = snapshot.frame
    fam_slugs = check_snapshot(
        snapshot.labelled, snapshot.families, list(frame.columns), len(frame)
    )
    design = Design.fit(frame, snapshot.feature_columns)
    x = design.transform(frame)

    def labels(column: str) -> np.ndarray:
        return frame[column].to_numpy(dtype="float64")

    def counts(column: str) -> tuple[int, int]:
        y = labels(column)
        y = y[~np.isnan(y)]
        return int(y.sum()), len(y)

    def train(column: str, seed: int) -> xgb.Booster:
        y = labels(column)
        rows = ~np.isnan(y)
        return train_booster(x[rows], y[rows], design.names, config, seed)

    boosters, skipped, n_train = fit_all(fam_slugs, config, counts, train)
    return PropensityModel(snapshot.families, design, boosters, skipped, config, n_train)
