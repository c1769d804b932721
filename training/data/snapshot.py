"""A snapshot: features at ``as_of`` joined with the labels of the horizon after it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from training.data.contract import CleanData
from training.data.features import compute_features
from training.data.io import read_metadata, write_table
from training.data.labels import (
    PARTIAL_CHURN_FRACTION,
    HorizonNotCoveredError,
    check_horizon,
    compute_labels,
    data_end,
)


@dataclass(frozen=True)
class Snapshot:
    """One row per customer; ``labelled`` says whether the label columns are present."""

    frame: pd.DataFrame
    as_of: pd.Timestamp
    horizon_days: int
    labelled: bool
    families: tuple[str, ...]
    channels: tuple[str, ...]
    # stacked training origins (``stack_snapshots``): rows [0, n_latest) are the snapshot
    # at ``as_of``, the rest earlier origins with the same label window; None: one origin
    n_latest: int | None = None
    n_origins: int = 1

    @property
    def latest(self) -> pd.DataFrame:
        """The rows of the latest origin (all rows of an unstacked snapshot)."""
        return self.frame if self.n_latest is None else self.frame.iloc[: self.n_latest]

    @property
    def feature_columns(self) -> list[str]:
        """Model inputs: everything but the id and the label/outcome columns."""
        return [
            c
            for c in self.frame.columns
            if c != "customer_id" and not c.startswith("label_") and not c.startswith("future_")
        ]

    @property
    def digest(self) -> str:
        """A short content hash, stable across runs on the same data and as_of."""
        hashed = pd.util.hash_pandas_object(self.frame, index=False).to_numpy()
        return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]

    def metadata(self) -> dict[str, str]:
        return {
            "cintel.as_of": self.as_of.isoformat(),
            "cintel.horizon_days": str(self.horizon_days),
            "cintel.labelled": str(self.labelled).lower(),
            "cintel.families": json.dumps(list(self.families)),
            "cintel.channels": json.dumps(list(self.channels)),
        }


def default_as_of(data: CleanData) -> pd.Timestamp:
    """The day after the last transaction: features on everything the data holds."""
    return data_end(data.transactions) + pd.Timedelta(days=1)


def build_snapshot(
    data: CleanData,
    as_of: pd.Timestamp | str | None = None,
    horizon_days: int = 90,
    *,
    require_labels: bool = False,
    partial_fraction: float = PARTIAL_CHURN_FRACTION,
    time_unit_days: float = 1.0,
) -> Snapshot:
    """Features at ``as_of`` (default: after the last transaction) and, when the data
    covers the horizon, labels; ``require_labels`` turns a short horizon into an error."""
    as_of = default_as_of(data) if as_of is None else pd.Timestamp(as_of)
    tx = data.transactions
    families, channels = data.families, data.channels
    if not (tx["ts"] < as_of).any():
        first = tx["ts"].min()
        raise ValueError(
            f"as_of {as_of:%Y-%m-%d} is before the first transaction ({first:%Y-%m-%d}); "
            "no features can be computed"
        )
    features = compute_features(
        tx,
        data.customers,
        as_of,
        families=families,
        channels=channels,
        time_unit_days=time_unit_days,
    )
    labelled = True
    try:
        check_horizon(tx, as_of, horizon_days)
    except HorizonNotCoveredError:
        if require_labels:
            raise
        labelled = False
    frame = features
    if labelled:
        ids = pd.Index(features["customer_id"], name="customer_id")
        labels = compute_labels(
            tx, ids, as_of, horizon_days, families=families, partial_fraction=partial_fraction
        )
        frame = features.merge(labels, on="customer_id", how="left", validate="one_to_one")
    return Snapshot(frame, as_of, horizon_days, labelled, tuple(families), tuple(channels))


def stack_snapshots(snapshots: list[Snapshot]) -> Snapshot:
    """One training snapshot from several origins with the same label window, latest
    first: more labelled rows (a customer appears once per origin). Features stay
    point-in-time per row: each origin's features and labels are relative to its as_of."""
    if not snapshots:
        raise ValueError("stack_snapshots needs at least one snapshot")
    ordered = sorted(snapshots, key=lambda s: s.as_of, reverse=True)
    if len(ordered) == 1:
        return ordered[0]
    latest = ordered[0]
    if len({s.horizon_days for s in ordered}) > 1:
        raise ValueError("stacked snapshots need the same horizon_days")
    frame = pd.concat([s.frame for s in ordered], ignore_index=True)
    return Snapshot(
        frame, latest.as_of, latest.horizon_days, all(s.labelled for s in ordered),
        latest.families, latest.channels, n_latest=len(latest.frame), n_origins=len(ordered),
    )  # fmt: skip


def write_snapshot(snapshot: Snapshot, path: Path) -> Path:
    """Write the snapshot as Parquet with as_of, horizon and layout in the footer."""
    return write_table(snapshot.frame, path, snapshot.metadata())


def read_snapshot(path: Path) -> Snapshot:
    """Read a snapshot written by ``write_snapshot``."""
    meta = read_metadata(path)
    if "cintel.as_of" not in meta:
        raise ValueError(f"{path}: not a cintel snapshot (no cintel.as_of in the file metadata)")
    return Snapshot(
        frame=pd.read_parquet(path),
        as_of=pd.Timestamp(meta["cintel.as_of"]),
        horizon_days=int(meta["cintel.horizon_days"]),
        labelled=meta["cintel.labelled"] == "true",
        families=tuple(json.loads(meta["cintel.families"])),
        channels=tuple(json.loads(meta["cintel.channels"])),
    )
