"""The segments model: RFM edges, tier cuts, centres and membership as plain arrays."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from training.data.features import slugs
from training.mlops.manifest import read_manifest, write_manifest
from training.segments import behaviour, rfm, tiers
from training.segments.config import LOW_ACTIVITY, SegmentsConfig
from training.segments.membership import softmax_proba

KIND = "cintel-segments"
SCHEMA_VERSION = 1
PROB_PREFIX = "segment_prob__"


def _floats(values: np.ndarray | list[float]) -> list:
    """Nested lists of floats, non-finite values as null; float repr round-trips exactly."""
    arr = np.asarray(values, dtype="float64")
    return (
        [None if not np.isfinite(v) else float(v) for v in arr.ravel()]
        if arr.ndim == 1
        else [_floats(row) for row in arr]
    )


def _inf(values: list, missing: float = float("inf")) -> list[float]:
    """Floats from a manifest list, null as ``missing``."""
    return [missing if v is None else float(v) for v in values]


@dataclass(frozen=True)
class SegmentsModel:
    """Everything needed to score a customer; no sklearn object, so numpy reproduces it.

    ``fill`` holds the fit-time feature means: missing features are replaced by them, so a
    low-activity customer without history gets the membership of an average customer.
    Membership probabilities are computed for every customer, low-activity ones included.
    ``ids`` are the segments' stable slugs (what the offer catalogue and the probability
    columns use), kept across retrains by ``training.segments.identity``; ``names`` are
    their display names; ``retired_ids`` are ids earlier models used and this one does not.
    """

    config: SegmentsConfig
    features: list[str]
    fill: np.ndarray
    scale_mean: np.ndarray
    scale_std: np.ndarray
    centers: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    names: list[str]
    ids: list[str]
    defining: list[list[str]]
    rfm_edges: dict[str, list[float]]
    tier_cuts: list[float]
    silhouettes: dict[int, float]
    usage: pd.DataFrame = field(repr=False)
    n_active_fit: int = 0
    retired_ids: list[str] = field(default_factory=list)
    match_distance: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.names) or len(set(self.ids)) != len(self.ids):
            raise ValueError(
                f"segments need one unique id per name, got {self.ids} for {self.names}"
            )

    @property
    def n_segments(self) -> int:
        return len(self.names)

    @property
    def prob_columns(self) -> list[str]:
        return [PROB_PREFIX + i for i in self.ids]

    def required_columns(self) -> list[str]:
        base = ["customer_id", "recency_days", "frequency", "gross_spend", tiers.MARGIN_COLUMN]
        return [*base, self.config.monetary_column, *self.features]

    def scaled(self, frame: pd.DataFrame) -> np.ndarray:
        """Scaled segment features of every row (missing values imputed with the means)."""
        raw = behaviour.raw_matrix(frame, self.features, self.fill)
        return cast(np.ndarray, (raw - self.scale_mean) / self.scale_std)

    def active(self, frame: pd.DataFrame) -> np.ndarray:
        return behaviour.active_mask(frame, self.config.min_purchases, self.config.min_gross_spend)

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        """Segment index per row (nearest centre), -1 for low-activity customers."""
        idx = behaviour.nearest(self.scaled(frame), self.centers)
        return np.where(self.active(frame), idx, -1)

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        return softmax_proba(self.scaled(frame), self.coef, self.intercept)

    def predict_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """customer_id, RFM scores, value tier, segment and one probability per segment."""
        missing = [c for c in self.required_columns() if c not in features.columns]
        if missing:
            raise ValueError(f"segments: input is missing columns {missing}")
        monetary = self.config.monetary_column
        out = rfm.score(features, self.rfm_edges, monetary).reset_index(drop=True)
        seg = self.assign(features)
        labels = np.array([*self.names, LOW_ACTIVITY], dtype=object)[seg]
        ids = np.array([*self.ids, LOW_ACTIVITY], dtype=object)[seg]
        probs = pd.DataFrame(self.proba(features), columns=self.prob_columns)
        head = pd.DataFrame(
            {
                "customer_id": features["customer_id"].to_numpy(),
                **{c: out[c].to_numpy() for c in out.columns},
                "value_tier": tiers.assign(features, self.tier_cuts),
                "segment": labels,
                "segment_id": ids,
            }
        )
        return pd.concat([head, probs], axis=1)

    def save(self, directory: Path) -> None:
        """Write ``manifest.json`` (all arrays as lists; no pickle)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        manifest = {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "config": asdict(self.config),
            "features": self.features,
            "fill": _floats(self.fill),
            "scale_mean": _floats(self.scale_mean),
            "scale_std": _floats(self.scale_std),
            "centers": _floats(self.centers),
            "coef": _floats(self.coef),
            "intercept": _floats(self.intercept),
            "segment_names": self.names,
            "segment_ids": self.ids,
            "retired_segment_ids": self.retired_ids,
            "segment_match_distance": _floats(self.match_distance),
            "segment_prob_columns": self.prob_columns,
            "low_activity_label": LOW_ACTIVITY,
            "defining_features": self.defining,
            "rfm_edges": self.rfm_edges,
            "tier_cuts": dict(
                zip(("platinum", "gold", "silver"), _floats(self.tier_cuts), strict=True)
            ),
            "silhouette_by_k": dict(
                zip(
                    map(str, self.silhouettes),
                    _floats(list(self.silhouettes.values())),
                    strict=True,
                )
            ),
            "usage": json.loads(self.usage.to_json(orient="records", double_precision=15)),
            "n_active_fit": self.n_active_fit,
            "recipe": "z = (x - scale_mean) / scale_std with NaN x -> fill; segment = argmin "
            "||z - centers||^2 if active else low_activity; proba = softmax(z @ coef.T + "
            "intercept)",
        }
        write_manifest(directory, manifest, indent=1)

    @classmethod
    def load(cls, directory: Path) -> SegmentsModel:
        """Restore a model written by ``save`` (before segment ids were saved, a segment's
        id is the slug of its name, as its probability column was)."""
        m = read_manifest(Path(directory), KIND, SCHEMA_VERSION)
        cfg = m["config"]
        cfg["tier_shares"] = tuple(cfg["tier_shares"])
        cuts = m["tier_cuts"]
        return cls(
            config=SegmentsConfig(**cfg),
            features=m["features"],
            fill=np.asarray(m["fill"], dtype="float64"),
            scale_mean=np.asarray(m["scale_mean"], dtype="float64"),
            scale_std=np.asarray(m["scale_std"], dtype="float64"),
            centers=np.asarray(m["centers"], dtype="float64"),
            coef=np.asarray(m["coef"], dtype="float64"),
            intercept=np.asarray(m["intercept"], dtype="float64"),
            names=m["segment_names"],
            ids=m.get("segment_ids") or slugs(m["segment_names"]),
            defining=m["defining_features"],
            rfm_edges=m["rfm_edges"],
            tier_cuts=_inf([cuts["platinum"], cuts["gold"], cuts["silver"]]),
            silhouettes={
                int(k): (np.nan if v is None else v) for k, v in m["silhouette_by_k"].items()
            },
            usage=pd.DataFrame(m["usage"]),
            n_active_fit=int(m["n_active_fit"]),
            retired_ids=m.get("retired_segment_ids", []),
            match_distance=_inf(
                m.get("segment_match_distance") or [None] * len(m["segment_names"]),
                missing=float("nan"),
            ),
        )
