"""The fitted uplift model: per arm, XGBoost boosters of a meta-learner; scores
``uplift_<arm>`` = P(respond | offered) − P(respond | not offered) per customer.

Saved as ``manifest.json`` plus one native ``<arm>__<part>.ubj`` per booster (the family
arms fitted together share ``families__<part>.ubj``); no pickle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from training.mlops.manifest import read_manifest, write_manifest
from training.propensity.encoding import Design
from training.uplift.config import UpliftConfig

KIND = "cintel-uplift"
SCHEMA_VERSION = 1
PARTS = {"t": ("mu0", "mu1"), "x": ("mu0", "mu1", "tau0", "tau1")}
POOL_FILE_PREFIX = "families"


def pooled_names(names: list[str], pooled: tuple[str, ...]) -> list[str]:
    """Column names of a pooled arm's matrix: the design's, its family's share and count,
    and one indicator per pooled arm."""
    return [*names, "arm_fam_share", "arm_fam_count", *(f"arm={a}" for a in pooled)]


def pooled_matrix(x: np.ndarray, names: list[str], arm: str, pooled: tuple[str, ...]) -> np.ndarray:
    """The design matrix of ``arm``'s rows in a pooled learner (``pooled_names``): the arm's
    own ``fam_share__<arm>``/``fam_count__<arm>`` columns repeated under one name, so one
    tree split serves every family ("has not bought this family yet"), and the arm."""
    extra = np.empty((len(x), 2 + len(pooled)), dtype="float64")
    for j, name in enumerate((f"fam_share__{arm}", f"fam_count__{arm}")):
        extra[:, j] = x[:, names.index(name)] if name in names else np.nan
    for j, other in enumerate(pooled):
        extra[:, 2 + j] = float(other == arm)
    return np.hstack([x, extra])


def output_column(arm: str) -> str:
    return f"uplift_{arm}"


def combine(learner: str, preds: dict[str, np.ndarray], treated_share: float) -> np.ndarray:
    """The uplift from the parts' predictions.

    T-learner: mu1 − mu0. X-learner: g·tau0 + (1 − g)·tau1 with g the treated share (the
    propensity score of a randomized assignment): the effect model fitted on the larger
    group's imputations gets the larger weight (Künzel et al. 2019, eq. 9)."""
    if learner == "t":
        uplift = preds["mu1"] - preds["mu0"]
    else:
        uplift = treated_share * preds["tau0"] + (1.0 - treated_share) * preds["tau1"]
    return np.asarray(np.clip(uplift, -1.0, 1.0), dtype="float64")


@dataclass
class UpliftModel:
    """Boosters per arm (``boosters_[arm][part]``); ``skipped_`` says why other arms are not."""

    arms: tuple[str, ...]
    design: Design
    boosters_: dict[str, dict[str, xgb.Booster]]
    treated_share_: dict[str, float]
    skipped_: dict[str, str]
    config: UpliftConfig = field(default_factory=UpliftConfig)
    n_train_: dict[str, dict[str, int]] = field(default_factory=dict)
    pooled_: tuple[str, ...] = ()  # the arms sharing one learner (``pooled_matrix``)

    @property
    def output_columns(self) -> list[str]:
        return [output_column(a) for a in self.arms]

    def uplift(self, arm: str, x: np.ndarray) -> np.ndarray:
        """Uplift of ``arm`` for a design matrix; NaN throughout for a skipped arm."""
        if arm not in self.boosters_ or len(x) == 0:
            return np.full(len(x), np.nan)
        if arm in self.pooled_:
            x = pooled_matrix(x, self.design.names, arm, self.pooled_)
        preds = {
            part: booster.inplace_predict(x).astype("float64")
            for part, booster in self.boosters_[arm].items()
        }
        return combine(self.config.learner, preds, self.treated_share_[arm])

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.design.numeric if c not in features.columns]
        if missing:
            raise ValueError(
                f"features missing for the uplift model: {', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}; score features built with the same "
                "families and channels as the training data"
            )
        return self.design.transform(features)

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """``customer_id`` and ``uplift_<arm>`` per input row (NaN for skipped arms)."""
        x = self.matrix(features)
        out: dict[str, object] = {"customer_id": features["customer_id"].to_numpy()}
        for arm in self.arms:
            out[output_column(arm)] = self.uplift(arm, x)
        return pd.DataFrame(out, index=features.index)

    def save(self, path: Path) -> None:
        """``manifest.json`` plus ``<arm>__<part>.ubj`` per booster."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        files: dict[str, dict[str, str]] = {}
        written: set[str] = set()
        for arm, parts in self.boosters_.items():
            files[arm] = {}
            prefix = POOL_FILE_PREFIX if arm in self.pooled_ else arm
            for part, booster in parts.items():
                files[arm][part] = f"{prefix}__{part}.ubj"
                if files[arm][part] not in written:
                    booster.save_model(path / files[arm][part])
                    written.add(files[arm][part])
        manifest = {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "arms": list(self.arms),
            "outputs": self.output_columns,
            "learner": self.config.learner,
            "feature_names": self.design.names,
            "design": self.design.to_dict(),
            "boosters": files,
            "treated_share": self.treated_share_,
            "skipped": self.skipped_,
            "n_train": self.n_train_,
            "pooled": list(self.pooled_),
            "config": {
                k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.config).items()
            },
        }
        write_manifest(path, manifest)

    @classmethod
    def load(cls, path: Path) -> UpliftModel:
        path = Path(path)
        manifest = read_manifest(path, KIND, SCHEMA_VERSION)
        raw = dict(manifest["config"])
        raw["any_purchase_kinds"] = tuple(raw["any_purchase_kinds"])
        config = UpliftConfig(**raw)
        boosters: dict[str, dict[str, xgb.Booster]] = {}
        loaded: dict[str, xgb.Booster] = {}  # pooled arms share their files
        for arm, parts in manifest["boosters"].items():
            if set(parts) != set(PARTS[config.learner]):
                raise ValueError(
                    f"{path}: arm {arm} has parts {sorted(parts)}, not a {config.learner}-learner"
                )
            boosters[arm] = {}
            for part, name in parts.items():
                if name not in loaded:
                    loaded[name] = xgb.Booster(model_file=str(path / name))
                    loaded[name].set_param({"nthread": config.n_jobs})
                boosters[arm][part] = loaded[name]
        return cls(
            arms=tuple(manifest["arms"]),
            design=Design.from_dict(manifest["design"]),
            boosters_=boosters,
            treated_share_={k: float(v) for k, v in manifest["treated_share"].items()},
            skipped_=dict(manifest["skipped"]),
            config=config,
            n_train_={k: dict(v) for k, v in manifest["n_train"].items()},
            pooled_=tuple(manifest.get("pooled", ())),
        )
