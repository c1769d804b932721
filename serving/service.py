"""The cintel BentoML service: one call returns the customer profile and the next best offers.

The request path is a dict lookup in the online store (scores precomputed by
``cintel materialize`` with the champions), offer arbitration in plain Python, and a
queued log record: no pandas and no model call. ``/score`` scores a feature payload with
the loaded champions for customers the store does not know (flagged ``cold_start``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import bentoml
from bentoml.exceptions import BadInput, NotFound, ServiceUnavailable

from serving.catalogue import load_catalogue
from serving.contacts import ContactHistory
from serving.jsonlog import JsonLog, read_jsonl
from serving.middleware import GuardMiddleware
from serving.models import PACKAGED_DIR, ModelManager
from serving.offers import OfferContext, rank_offers
from serving.profile import build_profile
from serving.requestlog import request_record
from serving.schemas import (
    Context,
    FeedbackRequest,
    ProfileRequest,
    ProfilesRequest,
    ScoreRequest,
)
from serving.scoring import score_features, smoke_test
from serving.settings import get_service_settings
from serving.store import ProfileStore, open_store


def _offer_context(channel: str | None, context: Context | None) -> OfferContext:
    return OfferContext(
        channel=channel,
        basket_families=frozenset(context.basket_families) if context else frozenset(),
        exclude_offers=frozenset(context.exclude_offers) if context else frozenset(),
    )


def _offers_json(offers: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "offer_id": o.offer_id,
            "kind": o.kind,
            "family": o.family,
            "score": round(o.score, 4),
            "expected_value": round(o.expected_value, 4),
            "priority": o.priority,
            "reasons": o.reasons,
        }
        for o in offers
    ]


@bentoml.service(
    name="cintel",
    traffic={"timeout": 30, "max_concurrency": 512},
    monitoring={"enabled": False},
)
class Cintel:
    """Customer profiles, scores and next best offers keyed by customer id."""

    def __init__(self) -> None:
        settings = get_service_settings()
        self.settings = settings
        self.requests = JsonLog(settings.request_log_dir)
        self.feedback = JsonLog(settings.feedback_dir)
        self.contacts = ContactHistory.from_records(read_jsonl(settings.feedback_dir))
        self.catalogue = load_catalogue(settings.offers_path)
        self.models = ModelManager(
            settings.model_cache_dir, settings.tracking_uri, smoke_test, packaged=PACKAGED_DIR
        )
        self.models.load_cache()
        self.store: ProfileStore | None = None
        self.store_stamp: Any = None
        self.store_error: str | None = None
        self._reload_store()
        threading.Thread(target=self._follow, name="cintel-follow", daemon=True).start()

    # ---- lifecycle -------------------------------------------------------------------
    def _reload_store(self) -> None:
        """Load the store again when materialize wrote a new one (atomic swap)."""
        s = self.settings
        stamp_path = s.store_dir / "meta.json"
        stamp = stamp_path.stat().st_mtime_ns if stamp_path.exists() else None
        if s.store == "file" and stamp is not None and stamp == self.store_stamp:
            return
        try:
            self.store = open_store(s.store, s.store_dir, s.redis_url, s.redis_prefix)
            self.store_stamp = stamp
            self.store_error = None
        except Exception as exc:  # keep the last good store
            self.store_error = f"{type(exc).__name__}: {exc}"

    def _follow(self) -> None:
        self.models.refresh()
        interval = self.settings.poll_seconds
        while interval > 0:
            time.sleep(interval)
            self.models.refresh()
            self._reload_store()

    def __is_ready__(self) -> bool:
        return self.store is not None and self.models.ready

    def _require_store(self) -> ProfileStore:
        if self.store is None:
            raise ServiceUnavailable(f"online store not loaded: {self.store_error}")
        return self.store

    # ---- logging -----------------------------------------------------------------------
    def _log(
        self, endpoint: str, row: dict[str, Any], answer: dict[str, Any], started: float, cold: bool
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        versions = answer.get("model_versions", {})
        self.requests.append(
            request_record(endpoint, row, answer.get("customer_id"), versions, latency_ms, cold)
        )

    # ---- endpoints ---------------------------------------------------------------------
    def _answer(
        self,
        row: dict[str, Any],
        versions: dict[str, str],
        channel: str | None,
        context: Context | None,
        cold: bool,
    ) -> dict[str, Any]:
        answer = build_profile(row, versions)
        answer["cold_start"] = cold
        offers = rank_offers(row, self.catalogue, _offer_context(channel, context), self.contacts)
        answer["offers"] = _offers_json(offers)
        return answer

    @bentoml.api(route="/profile")
    def profile(self, request: ProfileRequest, /) -> dict[str, Any]:
        """The whole profile and ranked offers of one known customer."""
        started = time.perf_counter()
        store = self._require_store()
        row = store.get(request.customer_id)
        if row is None:
            raise NotFound(
                f"customer_id {request.customer_id!r} is not in the online store "
                f"(as of {store.meta.get('as_of')}); POST its features to /score instead"
            )
        answer = self._answer(
            row, store.meta.get("versions", {}), request.channel, request.context, cold=False
        )
        self._log("/profile", row, answer, started, cold=False)
        return answer

    @bentoml.api(route="/profiles")
    def profiles(self, request: ProfilesRequest, /) -> dict[str, Any]:
        """Profiles of up to CINTEL_MAX_BATCH customers; unknown ids are listed apart."""
        started = time.perf_counter()
        if len(request.customer_ids) > self.settings.max_batch:
            raise BadInput(
                f"customer_ids: {len(request.customer_ids)} ids, at most "
                f"{self.settings.max_batch} per request (CINTEL_MAX_BATCH)"
            )
        store = self._require_store()
        versions = store.meta.get("versions", {})
        found, missing = [], []
        for cid, row in zip(
            request.customer_ids, store.get_many(request.customer_ids), strict=True
        ):
            if row is None:
                missing.append(cid)
                continue
            answer = self._answer(row, versions, request.channel, None, cold=False)
            self._log("/profiles", row, answer, started, cold=False)
            found.append(answer)
        return {"profiles": found, "not_found": missing}

    @bentoml.api(route="/score")
    def score(self, request: ScoreRequest, /) -> dict[str, Any]:
        """Score a feature payload with the loaded champions (a customer the store lacks)."""
        started = time.perf_counter()
        if not self.models.ready:
            raise ServiceUnavailable("models are not loaded yet; see /readyz")
        current = self.models.current
        try:
            row = score_features(
                current.scorers, request.features, request.customer_id, current.input_columns
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise BadInput(f"features: {exc}") from exc
        answer = self._answer(row, current.versions, request.channel, request.context, cold=True)
        self._log("/score", row, answer, started, cold=True)
        return answer

    @bentoml.api(route="/feedback")
    def record_feedback(self, request: FeedbackRequest, /) -> dict[str, Any]:
        """Store an offer outcome durably; contact caps count it at once."""
        record = request.model_dump()
        self.feedback.write_now(record)
        self.contacts.add(request.customer_id, request.offer_id, record["ts"])
        return {"stored": True, "ts": record["ts"]}

    @bentoml.api(route="/status")
    def status(self) -> dict[str, Any]:
        """Loaded model versions, store size and as-of, failure counters."""
        store = self.store
        return {
            **self.models.status(),
            "store": None if store is None else {"customers": len(store), **store.meta},
            "store_error": self.store_error,
            "requests_logged": self.requests.written,
        }


Cintel.add_asgi_middleware(GuardMiddleware)  # type: ignore[attr-defined]  # added by the decorator
