"""``cintel materialize``: latest snapshot + every champion's outputs -> the online store.

Everything that does not depend on the request context is computed here in batch, so the
service answers from a lookup. Scoring goes in chunks to bound memory. The four default
models are required; a cintel-uplift champion, when one exists, scores the store too
(``uplift_<arm>`` columns, its version in the meta), so campaigns ranked by uplift are a
lookup as well; one that cannot score this data is left out with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from serving.batch.materialize_cells import micro_segment_notes, with_cells
from serving.catalogue import catalogue_source, check_segments, load_catalogue
from serving.event_history import fold_events, remove_other_histories, write_history
from serving.follower import load_all_champions
from serving.scoring import REASONS_FROM, model_outputs, smoke_test
from serving.settings import ServiceSettings
from serving.store import write_features, write_file_store, write_redis_store
from training.clv.memo import Memo
from training.data.contract import CleanData
from training.data.snapshot import build_snapshot
from training.economics import Costs, contact_events, economics_columns
from training.economics.cells_config import CellsConfig
from training.economics.costs import costs_to_json
from training.segments import tiers
from training.segments.config import LOW_ACTIVITY, SegmentsConfig
from training.tasks import MODELS, STORE_MODELS, FittedModel

CHUNK = 50_000
# the optional models of issue 15 (customer economics, partial churn), left out with the
# P&L and lifecycle columns when CINTEL_ECONOMICS=off
ECONOMICS_MODELS = ("potential", "churn-partial")
REFERENCE_ROWS = 5_000
SEGMENT_PROB = "segment_prob__"
# features the offers and the answer use besides the model outputs
STORE_FEATURE_PREFIXES = ("fam_count__",)
STORE_FEATURES = ("recency_days", "frequency", "margin_365d", "spend_365d", "tenure_days")


@dataclass(frozen=True)
class MaterializeResult:
    n_customers: int
    as_of: pd.Timestamp
    versions: dict[str, str]
    location: str
    left_out: tuple[str, ...] = ()  # champions not published (with the reason), warnings


def load_champions(
    settings: ServiceSettings, optional: bool = False
) -> tuple[dict[str, FittedModel], dict[str, str]]:
    """Every required model's @champion (plus, with ``optional``, those of the models not
    trained by default, when registered), through the cache and smoke test the service uses.
    Models that are not store models (prospect) are never published."""
    models = STORE_MODELS if optional else MODELS
    manager = load_all_champions(
        settings.model_cache_dir, settings.tracking_uri, smoke_test, models
    )
    return dict(manager.current.scorers), dict(manager.current.versions)


def usable_optional(
    features: pd.DataFrame,
    scorers: dict[str, FittedModel],
    versions: dict[str, str],
    progress: Callable[[str], None] = lambda _m: None,
) -> tuple[dict[str, FittedModel], dict[str, str]]:
    """The scorers without an optional model that fails on the first rows of ``features``
    (e.g. an uplift model trained on other families): it must not stop the publish."""
    sample = features.head(16)
    keep, kept = dict(scorers), dict(versions)
    for name in [m for m in scorers if m not in MODELS]:
        try:
            scorers[name].predict_frame(sample)
        except Exception as exc:  # any failure: publish without it, saying why
            progress(f"cintel-{name} v{versions.get(name)} left out: {type(exc).__name__}: {exc}")
            keep.pop(name)
            kept.pop(name, None)
    return keep, kept


def check_catalogue(
    settings: ServiceSettings, segment_ids: Sequence[str], version: str | None
) -> None:
    """Refuse to publish when the offer catalogue (``CINTEL_OFFERS_PATH`` or the default)
    names a segment id the segments champion ``version`` does not have (CatalogueError)."""
    model = f"the segments champion v{version}" if version else "the store (no segments model)"
    check_segments(
        load_catalogue(settings.offers_path),
        [*segment_ids, LOW_ACTIVITY],
        catalogue_source(settings.offers_path),
        model,
    )


def published_segment_ids(profiles: pd.DataFrame | pa.Table) -> list[str]:
    """The segment ids of a scored store: its ``segment_prob__<id>`` columns."""
    columns = profiles.columns if isinstance(profiles, pd.DataFrame) else profiles.column_names
    return [str(c)[len(SEGMENT_PROB) :] for c in columns if str(c).startswith(SEGMENT_PROB)]


def kept_columns(columns: Sequence[str]) -> list[str]:
    """``customer_id`` and the features the store keeps beside the model outputs."""
    kept = [c for c in columns if c in STORE_FEATURES or c.startswith(STORE_FEATURE_PREFIXES)]
    return ["customer_id", *kept]


def _score_chunk(
    chunk: pd.DataFrame,
    scorers: dict[str, FittedModel],
    keep: list[str],
    approx_reasons: bool = False,
) -> pd.DataFrame:
    preds = [
        model_outputs(name, scorers[name], chunk, REASONS_FROM, approx_reasons)
        for name in sorted(scorers)
    ]
    return pd.concat([chunk[keep].reset_index(drop=True), *preds], axis=1)  # one copy


def score_all(
    features: pd.DataFrame,
    scorers: dict[str, FittedModel],
    progress: Callable[[str], None] = lambda _m: None,
    threads: int | None = None,
    approx_reasons: bool = False,
) -> pd.DataFrame:
    """Store columns for every customer: chosen features plus every model's outputs.

    Chunks of ``CHUNK`` customers are scored on ``threads`` threads (default: one per
    CPU): XGBoost's prediction and numpy run without the GIL, so chunks overlap; each
    booster predicts on one thread. A customer's outputs depend on its own features only
    (the CLV interval's random draws are keyed by its history), so neither the thread
    count nor the chunking changes the results.
    """
    keep = kept_columns(list(features.columns))
    n = len(features)
    starts = range(0, n, CHUNK)
    workers = max(1, min(threads or os.cpu_count() or 1, len(starts)))

    def one(start: int) -> pd.DataFrame:
        chunk = features.iloc[start : start + CHUNK]
        progress(f"scoring customers {start:,}-{start + len(chunk):,} of {n:,}")
        return _score_chunk(chunk, scorers, keep, approx_reasons)

    memos = [m for m in scorers.values() if hasattr(m, "interval_memo")]
    for model in memos:  # a CLV interval per distinct history, across the chunks
        model.interval_memo = Memo()
    try:
        if workers == 1:
            parts = [one(s) for s in starts]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="cintel-score") as pool:
                parts = list(pool.map(one, starts))
    finally:
        for model in memos:
            model.interval_memo = None
    return pd.concat(parts, ignore_index=True)


def write_reference(profiles: pd.DataFrame | pa.Table, meta: dict[str, Any], folder: Path) -> bool:
    """Keep a sample of what the service will serve as the monitoring reference.

    Written only when the champion versions change: later materializations with the same
    champions are then compared against what those champions were published with, so
    drift in the customer base shows up instead of being absorbed into a new reference.
    Features like tenure or purchase counts grow with time; comparing served traffic
    with the publish-time sample (not the older training window) keeps that out of the
    alarms. Returns whether a new reference was written.
    """
    ref_meta = folder / "reference.json"
    if ref_meta.exists() and json.loads(ref_meta.read_text()).get("versions") == meta["versions"]:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    # the rows pandas' profiles.sample(n, random_state=0) picks, for a frame or a table
    rows = np.random.RandomState(0).choice(
        len(profiles), size=min(REFERENCE_ROWS, len(profiles)), replace=False
    )
    if isinstance(profiles, pd.DataFrame):
        sample = profiles.iloc[rows]
    else:
        sample = profiles.take(pa.array(rows)).to_pandas()
    sample.to_parquet(folder / "reference.parquet", index=False)
    ref_meta.write_text(json.dumps({"versions": meta["versions"], "as_of": meta["as_of"]}))
    return True


def materialize(
    data: CleanData,
    settings: ServiceSettings,
    as_of: pd.Timestamp | None = None,
    backend: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
    approx_reasons: bool = False,
    costs: Costs | None = None,
    champions: tuple[dict[str, FittedModel], dict[str, str]] | None = None,
    cells: CellsConfig | None = None,
) -> MaterializeResult:
    """Compute and write the online store; the running service picks it up on its next poll.

    ``approx_reasons`` ranks churn drivers by approximate contributions (see
    ``ChurnModel.contributions``); exact ones go per decision pattern (``PatternShap``).
    ``costs`` (the data folder's costs.yaml; default: every cost zero) price the
    per-customer P&L stored beside the model outputs, with the lifecycle stage; with
    ``settings.economics`` "off" (CINTEL_ECONOMICS) neither they nor the scores of
    ``ECONOMICS_MODELS`` are published. ``champions``: ``load_champions(settings,
    optional=True)`` done already (the CLI loads them while it reads the data). ``cells``
    (cells.yaml; default: the built-in strategies) the value x potential x needs cell,
    its strategy and the micro-segment of every customer (``materialize_cells``), with the
    economics."""
    scorers, versions = champions or load_champions(settings, optional=True)
    economics = settings.economics == "on"
    if not economics:  # new dicts: the caller's champions stay as they were
        scorers = {m: s for m, s in scorers.items() if m not in ECONOMICS_MODELS}
        versions = {m: v for m, v in versions.items() if m not in ECONOMICS_MODELS}
    segments = scorers.get("segments")
    check_catalogue(settings, getattr(segments, "ids", []), versions.get("segments"))
    data, folded = fold_events(data, settings.events_dir)  # every acknowledged event
    progress("computing the latest snapshot")
    snap = build_snapshot(data, as_of, horizon_days=1)
    features = snap.frame[["customer_id", *snap.feature_columns]]
    left_out: list[str] = []

    def leave_out(note: str) -> None:
        left_out.append(note)
        progress(note)

    scorers, versions = usable_optional(features, scorers, versions, leave_out)
    store_dir = Path(settings.store_dir)
    ids = pd.Index(features["customer_id"].to_numpy())
    # what does not depend on the scores runs beside the scoring: the economics columns
    # and the history file (the old one is removed only once the new store is written)
    with ThreadPoolExecutor(1, thread_name_prefix="cintel-beside") as beside:
        history = beside.submit(write_history, data, features, store_dir, False)
        inputs = (
            beside.submit(write_features, features, store_dir)
            if (backend or settings.store) == "file"
            else None
        )
        extra = (
            beside.submit(economics_extra, data, ids, snap.as_of, costs or Costs(), settings)
            if economics
            else None
        )
        profiles = score_all(features, scorers, progress, approx_reasons=approx_reasons)
        if extra is not None:
            progress("computing the customer economics and lifecycle stages")
            extra_columns = extra.result()
        progress("writing the transaction history (for POST /events)")
        history_name = history.result()
        features_file = inputs.result() if inputs is not None else None
    cells_meta = None
    if economics:
        config = getattr(segments, "config", None)
        shares = (
            config.tier_shares
            if isinstance(config, SegmentsConfig)
            else SegmentsConfig().tier_shares
        )
        profiles = with_economics(
            profiles, data, snap.as_of, costs or Costs(), settings, shares, extra_columns
        )
        progress("placing customers in cells and micro-segments")
        profiles, cells_meta = with_cells(profiles, features, cells or CellsConfig())
        for note in micro_segment_notes(
            load_catalogue(settings.offers_path), cells_meta["micro_sizes"]
        ):
            leave_out(note)
    meta = store_meta(
        profiles, snap.as_of, versions, snap.families, approx_reasons, engine="pandas"
    )
    meta["economics"] = settings.economics  # the event path adds the columns only when on
    if cells_meta is not None:
        meta["cells"] = cells_meta  # the event path places customers as this publish did
    meta["costs"] = costs_to_json(costs or Costs())  # the event path prices as this publish
    meta["tier_value"] = settings.tier_value  # and cuts tiers on what this publish did
    meta["events"] = {
        "history": history_name,
        "folded": folded,
        "channels": list(snap.channels),
        "columns": list(features.columns),
    }
    progress(f"writing the {backend or settings.store} store")
    location = publish(profiles, meta, settings, backend, features, features_file)
    remove_other_histories(store_dir, history_name)
    return MaterializeResult(len(profiles), snap.as_of, versions, location, tuple(left_out))


def economics_extra(
    data: CleanData, ids: pd.Index, as_of: pd.Timestamp, costs: Costs, settings: ServiceSettings
) -> pd.DataFrame:
    """The P&L and lifecycle columns of the customers ``ids`` (``economics_columns``);
    contacts come from the decision log only when a contact has a price. They need no
    score (the churn rule is applied at answer time), so they are computed beside them."""
    return economics_columns(data, ids, as_of, costs, priced_contacts(costs, settings))


def with_economics(
    profiles: pd.DataFrame,
    data: CleanData,
    as_of: pd.Timestamp,
    costs: Costs,
    settings: ServiceSettings,
    shares: tuple[float, float, float] = SegmentsConfig().tier_shares,
    extra: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``profiles`` plus each customer's P&L and lifecycle stage (``economics_extra``, or
    ``extra`` when computed already for the profiles' customers, in order). With
    ``settings.tier_value`` "net_contribution" the value tiers are re-cut on it."""
    if extra is None:
        ids = pd.Index(profiles["customer_id"].to_numpy())
        extra = economics_extra(data, ids, as_of, costs, settings)
    out = pd.concat([profiles, extra], axis=1)
    if settings.tier_value == "net_contribution" and "value_tier" in out:
        out["value_tier"] = net_contribution_tiers(out["net_contribution_12m"].to_numpy(), shares)
    return out


def priced_contacts(costs: Costs, settings: ServiceSettings) -> pd.DataFrame | None:
    """The decision log's contacts (``contact_events``) when a contact has a price, else
    None (the log is then not read)."""
    if costs.per_contact.zero:
        return None
    from training.data.decision_log import read_decisions

    return contact_events(read_decisions(settings.decision_log_dir))


def net_contribution_tiers(net: np.ndarray, shares: tuple[float, float, float]) -> np.ndarray:
    """Value tiers cut on net contribution (CINTEL_TIER_VALUE=net_contribution): the same
    shares of the customers with a positive value as the segments model's margin tiers;
    net contribution <= 0 is a value destroyer."""
    frame = pd.DataFrame({tiers.MARGIN_COLUMN: net})
    return tiers.assign(frame, tiers.fit_cuts(frame, shares))


def store_meta(
    profiles: pd.DataFrame | pa.Table,
    as_of: pd.Timestamp,
    versions: dict[str, str],
    families: Sequence[str],
    approx_reasons: bool,
    **extra: Any,
) -> dict[str, Any]:
    """What the store says about itself (the service's /status shows it)."""
    return {
        "as_of": as_of.isoformat(),
        "versions": versions,
        "families": list(families),
        "materialized_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_customers": len(profiles),
        "churn_reasons_from": REASONS_FROM,
        "churn_reasons_method": "approx" if approx_reasons else "exact",
        **extra,
    }


def publish(
    profiles: pd.DataFrame | pa.Table,
    meta: dict[str, Any],
    settings: ServiceSettings,
    backend: str | None,
    features: pd.DataFrame | None = None,
    features_file: str | None = None,
) -> str:
    """Write the monitoring reference and the store (``backend`` or the configured one);
    returns where the store is. Nothing is written when the offer catalogue names a
    segment the published segments model lacks.

    ``features`` (every model input, the profiles' rows in order) are written beside the
    file store, so the service can score a customer on read with champions newer than the
    store's (after a promote or rollback) until the next materialize; ``features_file``:
    their file, written already (``write_features``)."""
    check_catalogue(settings, published_segment_ids(profiles), meta["versions"].get("segments"))
    write_reference(profiles, meta, Path(settings.store_dir))
    backend = backend or settings.store
    if features is not None and backend == "file":
        written = features_file or write_features(features, Path(settings.store_dir))
        meta = {**meta, "features": written}
    if backend == "redis":
        write_redis_store(profiles, meta, settings.redis_url, settings.redis_prefix)
        return f"{settings.redis_url} (prefix {settings.redis_prefix})"
    return str(write_file_store(profiles, meta, Path(settings.store_dir)))
