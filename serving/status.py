"""``POST /status``: what the service serves and how its logs fare, part by part.

Each helper reads one piece of the service's state (the store and its prepared answers,
the answers scored on read, the logs, the event updates); the endpoint in
``serving.service`` puts them together with the models' and the heap's own status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serving.answers import StoreAnswers
from serving.decision_index import DecisionIndex
from serving.events import EventUpdates
from serving.fresh import FreshAnswers, stale_models
from serving.jsonlog import JsonLog
from serving.store import ProfileStore


def store_status(store: ProfileStore | None, answers: StoreAnswers | None) -> dict[str, Any]:
    """The online store's size and meta (as_of, versions) and its prepared answers."""
    return {
        "store": None if store is None else {"customers": len(store), **store.meta},
        "answers_prepared": None if answers is None else answers.prepared,
    }


def fresh_status(
    store: ProfileStore | None, fresh: FreshAnswers | None, loaded: Mapping[str, str]
) -> dict[str, Any]:
    """Which models the store is stale for and how those answers are made."""
    versions = {} if store is None else store.meta.get("versions", {})
    stale = stale_models(versions, loaded)
    live = fresh is not None and store is not None and fresh.store is store
    return {
        "store_stale_for": stale,
        "scored_on_read": fresh.scored if live and fresh is not None else 0,
        "score_on_read_error": fresh.error if live and fresh is not None else None,
    }


def log_status(
    requests: JsonLog, decision_log: JsonLog, index: DecisionIndex, decisions: str
) -> dict[str, Any]:
    """The request and decision logs' counters and the decision index's size."""
    return {
        "requests_logged": requests.written,
        "requests_not_logged": requests.dropped,
        "decisions": decisions,
        "decisions_logged": decision_log.written,
        "decisions_indexed": len(index),
        "decision_index_bytes": index.memory_bytes,
    }


def events_status(events: EventUpdates | None, error: str | None) -> dict[str, Any]:
    """The event updates' counters, or why events cannot be applied to this store."""
    return events.status() if events is not None else {"events_error": error}
