"""Events applied to the online store: accept durably, recompute, rescore, share.

``accept`` stores new events in the event log (fsynced; ``serving.event_log``) and queues
their customers. ``update`` recomputes customers' rows in one batch
(``serving.incremental``: their stored history plus every logged event, the current
champions), keeps them (``rows``: what ``/profile`` serves for them in this process),
appends them to the shared row file, and writes them to Redis when that is the store.
Who calls it: the service's one updater process (``serving.event_updater``, started by
``cintel serve``) for every event any worker logs; a worker's own updater thread for the
customers it queued only while no updater process holds ``events/.updater.lock``
(``leave_to_updater``; always with ``CINTEL_EVENT_UPDATER=worker``). A follower thread
takes in the rows other processes appended, every ``FOLLOW_S``. A customer's row says how
many of their events it covers; a row covering fewer than the log holds is recomputed by
whoever reads it after ``REPAIR_S`` (an event acknowledged by a process killed before its
update is not lost).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from serving.answers import Batch
from serving.event_economics import economics_rows
from serving.event_features import subset
from serving.event_history import History
from serving.event_input import Event, Layout, validate_events
from serving.event_log import EventLog
from serving.incremental import (
    StoreLayout,
    as_of_groups,
    customer_as_of,
    event_arrays,
    feature_rows,
    scored_rows,
    signups_of,
)
from serving.updater_lock import live_updater
from training.tasks import MODELS

FOLLOW_S = 0.005  # how often a process looks for rows appended by others
REPAIR_S = 10.0  # an event this old without a covering row is recomputed by any reader
LEFT_CHECK_S = 0.5  # how often a worker looks whether the updater took what it accepted
LAGS_KEPT = 20_000
BATCH = 256  # customers recomputed in one scoring call at most


class Models(Protocol):
    """What the updater needs of a model manager (``serving.follower.ModelManager``)."""

    @property
    def ready(self) -> bool: ...

    @property
    def current(self) -> Any: ...


@dataclass(frozen=True)
class Row:
    """A customer's store row after their events, and what it was computed from."""

    row: dict[str, Any]
    covers: int  # how many of the customer's logged events it includes
    versions: dict[str, str]
    history: str  # the store's history it was computed on
    prepared: Any = None  # serving.answers.Prepared, made by ``prepare`` when first asked


class NoHistory(LookupError):
    """The store has no transaction history (Redis written by Spark, an older publish)."""


def store_history(meta: Mapping[str, Any]) -> str:
    events = meta.get("events")
    if not isinstance(events, dict) or "history" not in events:
        raise NoHistory(
            "the online store has no transaction history for events: publish it with "
            "`cintel materialize` (pandas engine) first"
        )
    return str(events["history"])


def net_tier_cuts(store_dir: Path, meta: Mapping[str, Any]) -> list[float] | None:
    """The value-tier cuts a publish under CINTEL_TIER_VALUE=net_contribution used: the
    smallest net contribution of its platinum, gold and silver customers (inf when a tier
    has none), read from the file store's profiles; None without them (a Redis store)."""
    import pyarrow.parquet as pq

    path = store_dir / "profiles.parquet"
    columns = ["value_tier", "net_contribution_12m"]
    if meta.get("engine") != "pandas" or not path.exists():
        return None
    if not set(columns) <= set(pq.read_schema(path).names):
        return None
    table = pq.read_table(path, columns=columns)
    tier = np.asarray(table.column("value_tier").to_pylist(), dtype=object)
    net = np.nan_to_num(table.column("net_contribution_12m").to_numpy(zero_copy_only=False))
    from training.segments.config import TIERS

    return [float(net[tier == t].min()) if (tier == t).any() else float("inf") for t in TIERS[:3]]


def recut_tiers(rows: list[dict[str, Any]], cuts: list[float]) -> None:
    """``value_tier`` of the rows cut on their net contribution (``tiers.assign``)."""
    import pandas as pd

    from training.segments import tiers

    net = [row.get("net_contribution_12m") for row in rows]
    frame = pd.DataFrame({tiers.MARGIN_COLUMN: np.asarray(net, dtype="float64")})
    for row, tier in zip(rows, tiers.assign(frame, cuts).tolist(), strict=True):
        row["value_tier"] = tier


class EventUpdates:
    """One process's view of the events of one store."""

    def __init__(
        self,
        events_dir: Path,
        store_dir: Path,
        meta: Mapping[str, Any],
        models: Models,
        prepare: Callable[[list[dict[str, Any]]], list[Any]] | None = None,
        redis_write: Callable[[list[dict[str, Any]]], None] | None = None,
        tier_value: str = "margin",
        leave_to_updater: bool = False,
    ) -> None:
        name = store_history(meta)
        self.layout = StoreLayout.of(meta)
        self.input_layout = Layout(tuple(self.layout.families), tuple(self.layout.channels))
        self.history = History(store_dir, name)
        self.log = EventLog(events_dir, since=int(meta["events"].get("folded", 0)))
        self.models = models
        # priced as the publish priced them (contacts are not counted on this path)
        from training.economics.costs import costs_from_json  # scipy: not at worker start

        self.costs = costs_from_json(meta.get("costs"))
        self.economics = meta.get("economics", "on") == "on"  # CINTEL_ECONOMICS at publish
        self.cells = meta.get("cells")  # placed in cells as the publish placed them
        # CINTEL_TIER_VALUE=net_contribution: tiers re-cut on it by the publish's cuts; the
        # publish's setting wins (``tier_value``, the service's, for a store without one)
        tier_value = str(meta.get("tier_value", tier_value))
        self.tier_cuts = (
            net_tier_cuts(store_dir, meta)
            if tier_value == "net_contribution" and self.economics
            else None
        )
        self.prepare = prepare
        self.redis_write = redis_write
        # the queued customers are left to a live updater process (CINTEL_EVENT_UPDATER=process)
        self.leave_to_updater = leave_to_updater
        self.left = 0  # customers queued here whose rows the updater process computed
        # the models the store was published with (an optional one materialize left out
        # is left out here too) and the required ones
        self.model_names = frozenset(meta.get("versions", {})) | frozenset(MODELS)
        self.rows: dict[str, Row] = {}
        self.updated = 0  # rows computed here
        self.followed = 0  # rows taken from other processes
        self.error: str | None = None  # the last failed update
        self.lags: deque[float] = deque(maxlen=LAGS_KEPT)
        self.follow_lags: deque[float] = deque(maxlen=LAGS_KEPT)  # written -> taken in here
        self.pid = os.getpid()
        self.origin = f"{self.pid}-{uuid.uuid4().hex[:8]}"  # whose rows are whose
        self._queue: dict[str, None] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ---- accepting ---------------------------------------------------------------------
    def accept(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store the new events durably (returns them) and queue their customers."""
        fresh = self.log.append(records)
        if fresh:
            with self._lock:
                self._queue.update((str(r["customer_id"]), None) for r in fresh)
            self._wake.set()
        return fresh

    def row(self, customer_id: str) -> Row | None:
        """The customer's event-updated row, or None (no event since the store)."""
        return self.rows.get(customer_id)

    # ---- threads -----------------------------------------------------------------------
    def start(self) -> None:
        """Take in the rows computed so far, queue the customers they leave uncovered
        (events acknowledged by a process that died, or logged since the publish), and
        start the updater and follower threads."""
        self.follow()
        with self._lock:
            for cid, events in self.log.events.items():
                row = self.rows.get(cid)
                if row is None or row.covers < len(events):
                    self._queue[cid] = None
        threading.Thread(target=self._update_loop, name="cintel-events", daemon=True).start()
        threading.Thread(target=self._follow_loop, name="cintel-events-follow", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _update_loop(self) -> None:
        last_repair = 0.0
        while not self._stop.is_set():
            left = self.leave_to_updater and bool(self._queue)
            self._wake.wait(LEFT_CHECK_S if left else REPAIR_S / 4)
            self._wake.clear()
            todo: list[str] = []
            if self.leave_to_updater and self._queue and self.updater_pid() is not None:
                self._forget_covered()  # the updater process computes them from the log
            elif self.models.ready:  # no updater process (it died, or none runs): here
                with self._lock:
                    todo, self._queue = list(self._queue), {}
            else:
                continue
            now = time.monotonic()
            if now - last_repair >= REPAIR_S / 4:  # whoever the updater, nothing is lost
                last_repair = now
                todo += [c for c in self.uncovered() if c not in todo]
            for start in range(0, len(todo), BATCH):
                self.update(todo[start : start + BATCH])

    def _forget_covered(self) -> None:
        """Drop the queued customers whose events a row (the updater's) now covers; the
        others wait, and are computed here if the updater dies first."""
        with self._lock:
            covered = [c for c in self._queue if self.covers_all(c)]
            for cid in covered:
                del self._queue[cid]
        self.left += len(covered)

    def covers_all(self, customer_id: str) -> bool:
        """Whether a row here covers every event of the customer this process has read."""
        row = self.rows.get(customer_id)
        return row is not None and row.covers >= len(self.log.events.get(customer_id, ()))

    def _follow_loop(self) -> None:
        while not self._stop.wait(FOLLOW_S):
            self.follow()

    def follow(self) -> int:
        """Take in rows other processes computed; returns how many were newer."""
        taken = 0
        for record in self.log.new_rows():
            if record.get("history") != self.history.name or record.get("by") == self.origin:
                continue  # another publish's row, or one of ours (kept when computed)
            cid = str(record["customer_id"])
            have = self.rows.get(cid)
            if have is not None and have.covers >= int(record["covers"]):
                continue
            row = Row(record["row"], int(record["covers"]), record["versions"], record["history"])
            self._keep(cid, row)
            self._lag(record)
            taken += 1
        self.followed += taken
        return taken

    def updater_pid(self) -> int | None:
        """The live updater process's pid (0 before it wrote it), None when there is none."""
        return live_updater(self.log.folder)

    def uncovered(self, older_than: float = REPAIR_S) -> list[str]:
        """Customers whose latest event is older than ``older_than`` s and not in any row
        (the process that was to update it died first), or whose row names other models."""
        self.log.refresh()
        self.follow()
        versions = self._champions()[1]
        cutoff = time.time() - older_than
        out = []
        for cid, events in list(self.log.events.items()):
            row = self.rows.get(cid)
            if (row is not None and row.versions != versions) or (
                (row is None or row.covers < len(events)) and events[-1]["received"] < cutoff
            ):
                out.append(cid)
        return out

    # ---- updating ----------------------------------------------------------------------
    def update(self, customer_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Recompute and rescore the customers from their history and every logged event,
        keep the rows here, share them; returns the rows (empty on failure: ``error``)."""
        self.log.refresh()
        events = {c: list(self.log.events.get(c, [])) for c in customer_ids}
        events = {c: e for c, e in events.items() if e}
        if not events:
            return []
        scorers, versions = self._champions()
        try:
            rows = self.compute(events, scorers)
        except Exception as exc:  # the events are logged; the next repair retries
            self.error = f"{type(exc).__name__}: {exc}"
            return []
        records = [
            {
                "customer_id": row["customer_id"],
                "covers": len(events[row["customer_id"]]),
                "versions": versions,
                "history": self.history.name,
                "by": self.origin,
                "received": max(float(e.get("received", 0)) for e in events[row["customer_id"]]),
                "row": row,
            }
            for row in rows
        ]
        if self.redis_write is not None:
            self.redis_write(rows)
        written = time.time()
        for record in records:
            record["written"] = written
        self.log.write_rows(records)  # first: the other workers prepare theirs meanwhile
        for record in records:
            self._keep(
                record["customer_id"],
                Row(record["row"], record["covers"], versions, self.history.name),
            )
            self._lag(record)
        self.updated += len(rows)
        self.error = None
        return rows

    def _champions(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The loaded champions of the store's models, and their versions."""
        current = self.models.current
        scorers = {m: s for m, s in current.scorers.items() if m in self.model_names}
        versions = {str(m): str(v) for m, v in current.versions.items() if m in scorers}
        return scorers, versions

    def compute(
        self, events: Mapping[str, list[dict[str, Any]]], scorers: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The customers' rows from their stored history plus ``events``."""
        ids = list(events)
        as_ofs = {c: customer_as_of(self.layout.as_of, events[c]) for c in ids}
        arrays = event_arrays(self.history, ids, events, self.layout)
        customers = self.history.customers(ids)
        signups = signups_of(arrays, customers)
        features = feature_rows(arrays, customers, as_ofs, self.layout, signups)
        rows = scored_rows(features, scorers, as_ofs, self.layout.approx_reasons)
        if not self.economics:
            return rows
        # the P&L and lifecycle columns materialize stores, each customer at their as_of
        for as_of, members in as_of_groups(ids, as_ofs).items():
            part = subset(arrays, members)
            extra = economics_rows(
                part, self.layout.channels, customers, signups, as_of, self.costs
            )
            for i, values in zip(members, extra, strict=True):
                rows[i].update(values)
        if self.tier_cuts is not None:
            recut_tiers(rows, self.tier_cuts)
        if not self.cells:
            return rows
        from serving.batch.materialize_cells import cells_of_rows
        from training.economics.cells import CHANNEL_PREFIX

        shares = {k: v for k, v in features.items() if k.startswith(CHANNEL_PREFIX)}
        return cells_of_rows(rows, shares, self.cells)

    def _keep(self, customer_id: str, row: Row) -> None:
        with self._lock:
            have = self.rows.get(customer_id)
            if have is None or have.covers <= row.covers:
                self.rows[customer_id] = row

    def prepared(self, customer_ids: Sequence[str]) -> dict[str, Row]:
        """The rows of those ``customer_ids`` that have one, with their served answer:
        prepared here on first ask (one ``prepare`` call for the batch), not when the row
        is computed or followed (a worker would otherwise prepare every row of every
        other worker, 2-3 ms each, asked for or not)."""
        hits = {c: r for c in customer_ids if (r := self.rows.get(c)) is not None}
        todo = [r for r in hits.values() if r.prepared is None]
        if todo and self.prepare is not None:
            try:
                answers = self.prepare([r.row for r in todo])
            except Exception as exc:  # answered from the store meanwhile; /status says why
                self.error = f"preparing an event row's answer: {type(exc).__name__}: {exc}"
                answers = [None] * len(todo)
            done = [
                Row(r.row, r.covers, r.versions, r.history, p)
                for r, p in zip(todo, answers, strict=True)
            ]
            with self._lock:
                for row in done:
                    cid = str(row.row["customer_id"])
                    if self.rows.get(cid) is not None and self.rows[cid].covers <= row.covers:
                        self.rows[cid] = row
                    hits[cid] = row
        return {c: r for c, r in hits.items() if r.prepared is not None}

    def _lag(self, record: Mapping[str, Any]) -> None:
        """How long after the newest covered event was accepted its row became servable
        here, and (a row another process wrote) after it was written."""
        now = time.time()
        received, written = record.get("received"), record.get("written")
        if isinstance(received, int | float) and received > 0:
            self.lags.append((now - received) * 1000)
        if isinstance(written, int | float) and written > 0 and record.get("by") != self.origin:
            self.follow_lags.append((now - written) * 1000)

    def lag_summary(self, lags: deque[float] | None = None) -> dict[str, float | int | None]:
        """Accepted -> servable in this process (or ``lags``), over the last ``LAGS_KEPT``
        rows (ms)."""
        values = sorted(self.lags if lags is None else lags)
        if not values:
            return {"n": 0, "p50": None, "p99": None, "max": None}

        def q(p: float) -> float:
            return round(values[min(len(values) - 1, int(p * len(values)))], 1)

        return {"n": len(values), "p50": q(0.5), "p99": q(0.99), "max": round(values[-1], 1)}

    def status(self) -> dict[str, Any]:
        return {
            "event_pid": self.pid,
            "event_lag_ms": self.lag_summary(),
            "event_follow_lag_ms": self.lag_summary(self.follow_lags),
            "events_logged": len(self.log.ids),
            "customers_updated_by_events": len(self.rows),
            "event_rows_computed": self.updated,
            "event_rows_followed": self.followed,
            "event_update_error": self.error,
            "event_updater_pid": self.updater_pid(),
            "event_rows_left_to_updater": self.left,
        }


def receive(updates: EventUpdates, events: Sequence[Event]) -> dict[str, Any]:
    """``POST /events``: validate (``EventError`` names the row and field), store the new
    events durably, queue their customers; the answer counts them (no ids)."""
    records = validate_events(events, updates.input_layout)
    now = time.time()
    fresh = updates.accept([{**r, "received": now} for r in records])
    return {
        "accepted": len(fresh),
        "duplicates": len(records) - len(fresh),
        "customers": len({r["customer_id"] for r in fresh}),
    }


def overlay(
    updates: EventUpdates | None,
    meta: Mapping[str, Any],
    batch: Batch,
    versions: dict[str, str],
    customer_ids: Sequence[str],
) -> tuple[Batch, dict[str, str]]:
    """``batch`` with the customers updated by events answered from their new rows: all of
    them when every id asked for has one (their versions answer), otherwise those scored
    by the batch's ``versions`` (an answer names one set of versions)."""
    if (
        updates is None
        or not updates.rows
        or meta.get("events", {}).get("history") != (updates.history.name)
    ):
        return batch, versions
    hits = updates.prepared(customer_ids)
    if not hits:
        return batch, versions
    one_set = len({tuple(sorted(r.versions.items())) for r in hits.values()}) == 1
    if len(hits) == len(set(customer_ids)) and one_set:
        versions = next(iter(hits.values())).versions
    else:
        hits = {c: r for c, r in hits.items() if r.versions == versions}
    base = dict(zip(batch.customer_ids, batch.prepared, strict=True))
    found, prepared, missing = [], [], []
    for cid in customer_ids:
        p = hits[cid].prepared if cid in hits else base.get(cid)
        if p is None:
            missing.append(cid)
        else:
            found.append(cid)
            prepared.append(p)
    return Batch(found, prepared, missing), versions
