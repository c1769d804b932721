"""cintel-potential: what a customer could spend with us in a year, and our share of it.

Potential value is the upper quantile (``quantile_alpha``, 0.9) of the yearly spend of
customers like this one: an XGBoost quantile regression (``reg:quantileerror``) over the
exogenous attributes and the *kind* of behaviour (product-family and channel mix, weekend
share, spend per line), fitted on customers with a full year of tenure who bought in it.
Customers at the upper quantile of their peers are the ones who plausibly buy all, or
almost all, of their wallet from us; the quantile is their envelope. How *much* or how
often a customer buys with us is deliberately left out of the inputs: it is what the share
of wallet measures, so it cannot also set the potential.

Spend is the yearly rate: spend_365d × 365 ÷ the days of the last year the customer has
been a customer (at least ``min_tenure_days``), so a customer of four months is compared
with peers by what they spend a year, not by a third of it.
share_of_wallet = yearly spend / potential (in [0, 1]); headroom = potential − yearly spend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from training.churn.encoding import Encoding, design_matrix, dmatrix, fit_encoding
from training.data.snapshot import Snapshot
from training.mlops.manifest import read_manifest, write_manifest

KIND = "cintel-potential"
SCHEMA_VERSION = 1
BOOSTER_FILE = "booster.ubj"
SPEND = "spend_365d"
MIX_PREFIXES = ("attr_", "fam_share__", "chan_share__")
MIX_FEATURES = ("weekend_share", "monetary_mean")
OUTPUTS = ("potential_value_12m", "share_of_wallet", "potential_headroom")


@dataclass(frozen=True)
class PotentialConfig:
    """The quantile and the booster's settings; ``min_tenure_days``: a full year of data."""

    quantile_alpha: float = 0.9
    n_estimators: int = 200
    learning_rate: float = 0.08
    max_depth: int = 4
    min_child_weight: float = 20.0
    min_tenure_days: float = 90.0
    nthread: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.5 <= self.quantile_alpha < 1:
            raise ValueError(f"quantile_alpha must be in [0.5, 1), got {self.quantile_alpha}")


def input_columns(snapshot_columns: list[str]) -> list[str]:
    """The model's inputs among a snapshot's feature columns."""
    return [c for c in snapshot_columns if c.startswith(MIX_PREFIXES) or c in MIX_FEATURES]


def training_rows(frame: pd.DataFrame, config: PotentialConfig) -> pd.DataFrame:
    """Customers of at least ``min_tenure_days`` who spent something with us in the year."""
    keep = (frame["tenure_days"] >= config.min_tenure_days) & (frame[SPEND] > 0)
    return frame.loc[keep]


def yearly_spend(frame: pd.DataFrame, min_days: float) -> np.ndarray:
    """spend_365d as a yearly rate: divided by the share of the year the customer was one
    (tenure between ``min_days`` and 365 days); never negative, NaN as 0."""
    spend: np.ndarray = pd.to_numeric(frame[SPEND]).to_numpy(dtype="float64")
    spend = np.nan_to_num(np.clip(spend, 0, None), nan=0.0)
    if "tenure_days" not in frame.columns:
        return spend
    tenure = pd.to_numeric(frame["tenure_days"]).to_numpy(dtype="float64")
    days = np.clip(np.nan_to_num(tenure, nan=365.0), min_days, 365.0)
    yearly: np.ndarray = spend * 365.0 / days
    return yearly


@dataclass
class PotentialModel:
    """Learned state: the encoding of the inputs and the quantile booster."""

    config: PotentialConfig
    encoding: Encoding
    booster: xgb.Booster
    info: dict

    def raw(self, features: pd.DataFrame) -> np.ndarray:
        """The booster's quantile of yearly spend, per row (not yet floored by the spend)."""
        try:
            x = design_matrix(self.encoding, features)
        except ValueError as exc:
            raise ValueError(str(exc).replace("churn model", "potential model")) from None
        return np.asarray(self.booster.predict(dmatrix(self.encoding, x)), dtype="float64")

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """customer_id, potential_value_12m (money a year, >= what they spend with us a
        year), share_of_wallet (yearly spend / potential, in [0, 1]) and potential_headroom."""
        if "customer_id" not in features.columns or SPEND not in features.columns:
            raise ValueError(f"features need customer_id and {SPEND} columns")
        spend = yearly_spend(features, self.config.min_tenure_days)
        potential = np.maximum(np.clip(self.raw(features), 0, None), spend)
        share = np.divide(spend, potential, out=np.zeros(len(spend)), where=potential > 0)
        return pd.DataFrame(
            {
                "customer_id": features["customer_id"].to_numpy(),
                "potential_value_12m": potential,
                "share_of_wallet": share,
                "potential_headroom": potential - spend,
            }
        )

    def mlflow_params(self) -> dict[str, object]:
        return {"potential.objective": "reg:quantileerror", **self.info}

    def save(self, path: Path) -> None:
        """manifest.json and the booster in XGBoost's native UBJ format."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(path / BOOSTER_FILE)
        manifest = {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "booster_file": BOOSTER_FILE,
            "config": asdict(self.config),
            **self.encoding.to_dict(),
            "info": self.info,
        }
        write_manifest(path, manifest)

    @classmethod
    def load(cls, path: Path) -> PotentialModel:
        """Restore a model written by ``save``."""
        manifest = read_manifest(Path(path), KIND, SCHEMA_VERSION)
        booster = xgb.Booster()
        booster.load_model(Path(path) / manifest["booster_file"])
        config = PotentialConfig(**manifest["config"])
        booster.set_param({"nthread": config.nthread})
        return cls(config, Encoding.from_dict(manifest), booster, manifest["info"])


def fit(snapshot: Snapshot, config: PotentialConfig | None = None) -> PotentialModel:
    """The quantile booster on ``training_rows`` of the snapshot (ValueError when too few)."""
    config = config or PotentialConfig()
    rows = training_rows(snapshot.frame, config)
    if len(rows) < 50:
        raise ValueError(
            f"potential: {len(rows)} customers with {config.min_tenure_days:.0f} days of "
            "tenure and spend in the last year; need at least 50"
        )
    enc = fit_encoding(rows, input_columns(snapshot.feature_columns))
    y = yearly_spend(rows, config.min_tenure_days)
    params = {
        "objective": "reg:quantileerror",
        "quantile_alpha": config.quantile_alpha,
        "tree_method": "hist",
        "learning_rate": config.learning_rate,
        "max_depth": config.max_depth,
        "min_child_weight": config.min_child_weight,
        "max_cat_to_onehot": 1,
        "nthread": config.nthread,
        "seed": config.seed,
    }
    dtrain = dmatrix(enc, design_matrix(enc, rows), y)
    booster = xgb.train(params, dtrain, num_boost_round=config.n_estimators)
    info = {"n_train": len(rows), "quantile_alpha": config.quantile_alpha}
    return PotentialModel(config, enc, booster, info)
