"""Fit tiers, RFM edges, behavioural segments and their membership model on a snapshot."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from training.data.snapshot import Snapshot
from training.segments import behaviour, identity, rfm, tiers
from training.segments.config import SegmentsConfig
from training.segments.membership import fit_membership
from training.segments.model import SegmentsModel


def fit(
    snapshot: Snapshot,
    config: SegmentsConfig | None = None,
    previous: SegmentsModel | None = None,
) -> SegmentsModel:
    """Learn everything from ``snapshot.frame`` (labels are not needed and not used).

    ``previous`` is the model this one replaces (the current champion): segments whose
    centres match its centres keep its ids and names (``training.segments.identity``);
    without it every segment gets a new id from its name.

    Raises ValueError when columns are missing or when fewer than
    ``config.min_active_customers`` customers pass the activity thresholds.
    """
    config = config or SegmentsConfig()
    with threadpool_limits(limits=config.n_threads):
        return _fit(snapshot, config, previous)


def _fit(
    snapshot: Snapshot, config: SegmentsConfig, previous: SegmentsModel | None
) -> SegmentsModel:
    frame = snapshot.frame
    columns = behaviour.feature_columns(frame)
    need = ["customer_id", "recency_days", "frequency", "gross_spend", tiers.MARGIN_COLUMN]
    missing = [c for c in [*need, config.monetary_column] if c not in frame.columns]
    if missing:
        raise ValueError(f"segments: snapshot is missing columns {missing}")
    active = behaviour.active_mask(frame, config.min_purchases, config.min_gross_spend)
    n_active = int(active.sum())
    if n_active < max(config.min_active_customers, config.k_min + 1):
        raise ValueError(
            f"segments need at least {max(config.min_active_customers, config.k_min + 1)} "
            f"active customers (>= {config.min_purchases} purchases and gross spend > "
            f"{config.min_gross_spend}); the snapshot has {n_active} of {len(frame)}"
        )
    edges = rfm.fit_edges(frame, config.monetary_column)
    cuts = tiers.fit_cuts(frame, config.tier_shares)

    x_active = frame.loc[active, columns].to_numpy(dtype="float64")
    fill = np.nanmean(np.where(np.isfinite(x_active), x_active, np.nan), axis=0)
    fill = np.nan_to_num(fill, nan=0.0)
    raw = np.where(np.isfinite(x_active), x_active, fill)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    z = (raw - mean) / std

    clustering = behaviour.choose_k(z, config)
    labels = behaviour.nearest(z, clustering.centers)
    k = len(clustering.centers)
    seg_means = np.vstack(
        [raw[labels == i].mean(axis=0) if (labels == i).any() else mean for i in range(k)]
    )
    derived, defining = behaviour.name_segments(seg_means, mean, columns, config)
    ident = identity.assign(
        derived, clustering.centers, columns, mean, std, previous, config.match_max_ratio
    )
    rows = clustering.fit_rows
    coef, intercept = fit_membership(
        z[rows], labels[rows], k, config.logistic_c, config.logistic_max_iter
    )
    usage = behaviour.usage_table(raw, labels, ident.names, defining, columns, config)
    return SegmentsModel(
        config=config,
        features=columns,
        fill=fill,
        scale_mean=mean,
        scale_std=std,
        centers=clustering.centers,
        coef=coef,
        intercept=intercept,
        names=ident.names,
        ids=ident.ids,
        defining=defining,
        rfm_edges=edges,
        tier_cuts=cuts,
        silhouettes=clustering.silhouettes,
        usage=usage,
        n_active_fit=n_active,
        retired_ids=ident.retired_ids,
        match_distance=ident.match_distance,
    )
