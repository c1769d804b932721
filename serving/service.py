"""The cintel BentoML service: one call returns the customer profile and the next best offers.

The request path is a lookup in the online store (scores precomputed by
``cintel materialize`` with the champions), the customer's prepared answer
(``serving.answers``: rendered once per customer) with this request's offer rules
applied, its decision record handed to the OS before the answer is sent
(``serving.decisions``; one ``write()``, no fsync) and a queued log line: no pandas, no
model call, no JSON encoding of the profile. ``/profile`` and ``/profiles`` are ``async``
(no thread hop); ``/score`` scores a feature payload with the loaded champions for
customers the store does not know (flagged ``cold_start``) on BentoML's thread pool.
Rejected requests are answered, not raised (``serving.errors``): one error shape, and
BentoML logs no traceback for them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import bentoml
import orjson
from bentoml.exceptions import BentoMLException
from starlette.responses import Response

from serving import feedback_api, heap, readiness
from serving.answers import (
    Batch,
    Decisions,
    StoreAnswers,
    from_rows,
    from_store,
    log_block,
    render,
)
from serving.catalogue import load_catalogue
from serving.decision_index import DecisionIndex
from serving.decisions import request_head, utc_now
from serving.errors import error_body, error_response, install_log_policy
from serving.event_input import EventError, EventsAnswer, EventsRequest
from serving.events import EventUpdates, NoHistory, overlay, receive
from serving.fast_route import FastRoute
from serving.feedback import FeedbackStore
from serving.follower import PACKAGED_DIR, ModelManager
from serving.fresh import FreshAnswers, stale_models
from serving.jsonlog import JsonLog
from serving.middleware import GuardMiddleware
from serving.model_metrics import ModelMetrics
from serving.offers import OfferContext, RequestRules, request_rules
from serving.openapi import api_document
from serving.prospect_schemas import ProspectAnswer, ProspectRequest
from serving.prospects import Prospects
from serving.schemas import (
    Context,
    FeedbackAnswer,
    FeedbackRequest,
    ProfileAnswer,
    ProfileRequest,
    ProfilesAnswer,
    ProfilesRequest,
    ScoreAnswer,
    ScoreRequest,
)
from serving.scoring import (
    BadFeature,
    MissingFeatures,
    missing_features,
    score_features,
    smoke_test,
)
from serving.settings import get_service_settings
from serving.status import events_status, fresh_status, log_status, store_status
from serving.store import FileStore, ProfileStore, RedisStore, open_store
from training.tasks import MODELS

logger = logging.getLogger(__name__)
SCORED_KEPT = 100_000  # customer ids answered by /score that /feedback accepts (per worker)
MODEL_WAIT_S = 30.0  # a request that needs the models waits for them this long at most
RULES_KEPT = 1024  # request rules kept by context (channel, basket, exclusions)


def _offer_context(channel: str | None, context: Context | None) -> OfferContext:
    return OfferContext(
        channel=channel,
        basket_families=frozenset(context.basket_families) if context else frozenset(),
        exclude_offers=frozenset(context.exclude_offers) if context else frozenset(),
    )


def _json(body: bytes) -> Any:
    """A pre-serialized JSON answer; BentoML sends a Response as it is (the annotation of
    the endpoint documents the schema in the OpenAPI page)."""
    return Response(body, media_type="application/json")


def _sent(status: int, body: bytes) -> Any:
    """A status and JSON body as the endpoint's answer (an error body when >= 400)."""
    return Response(body, status_code=status, media_type="application/json")


def _error(status: int, message: str, field: str | None = None) -> Any:
    """A rejected request's answer (``serving.errors``), typed like ``_json``."""
    return error_response(status, message, field)


@dataclass(frozen=True)
class Served:
    """The store and, for the file store, its prepared answers: swapped together."""

    store: ProfileStore
    answers: StoreAnswers | None


@bentoml.service(
    name="cintel",
    # a request never holds its caller more than 5 s (504), and at most 512 run at once
    # (429 beyond: ~0.8 s of queue at 1.5 ms each), split over the workers. The worker
    # count is `cintel serve --workers` (CINTEL_WORKERS), passed to BentoML at start.
    traffic={"timeout": 5, "max_concurrency": 512},
    monitoring={"enabled": False},
    # BentoML's access log wrote a line per request with its path (client text on unknown
    # routes) beside ours; answered requests are in the request log, rejected ones get one
    # line from serving.errors
    logging={"access": {"enabled": False}},
)
class Cintel:
    """Customer profiles, scores and next best offers keyed by customer id."""

    def __init__(self) -> None:
        settings = get_service_settings()
        self.settings = settings
        heap.configure(settings.gc)
        install_log_policy(settings.log_rejected)
        # each answer's lines go to the OS with one write() in the request (_answer), as
        # the decision records do: no writer thread to wake per record (that took the GIL
        # from the request path) and no fsync per batch (journal commits stalled the
        # decision write(); bench/bench_decisions.py)
        self.requests = JsonLog(settings.request_log_dir)
        # every worker's feedback (and its de-duplication) is followed within a second
        self.feedback = FeedbackStore(settings.feedback_dir)
        self.feedback.follow(every_s=1.0)
        self.contacts = self.feedback.contacts
        self.catalogue = load_catalogue(settings.offers_path)
        self.offer_ids = frozenset(o.id for o in self.catalogue.offers)
        self._rules: dict[OfferContext, RequestRules] = {}  # by request context, as made
        self.decision_log = JsonLog(settings.decision_log_dir)
        self.record_decisions = settings.decisions == "on"
        days = settings.feedback_days or max(
            self.catalogue.campaign(c).response_window_days for c in self.catalogue.campaign_ids
        )
        self.decision_index = DecisionIndex(settings.decision_log_dir, days)
        threading.Thread(target=self.decision_index.sync, name="cintel-index", daemon=True).start()
        self.scored: dict[str, None] = {}  # insertion-ordered set, oldest dropped first
        self.metrics = ModelMetrics(MODELS)
        self.models = ModelManager(
            settings.model_cache_dir,
            settings.tracking_uri,
            smoke_test,
            packaged=PACKAGED_DIR,
            listener=self.metrics,
            tag_served=True,
        )
        # cintel-prospect (people without history) is followed apart: not a store model
        self.prospects = Prospects(
            settings.model_cache_dir,
            settings.tracking_uri,
            PACKAGED_DIR,
            self.metrics,
            catalogue=self.catalogue,
            log=self.requests,
        )
        self.prospects.follow(settings.poll_seconds)
        # the models load on the follower thread (XGBoost and scikit-learn take seconds to
        # import): /profile answers from the store at once, unless the store's versions are
        # not those the cache holds (then it waits for them, like /score)
        self.models_loaded = threading.Event()
        self.cached_versions = self.models.cached_versions()
        self._fresh: FreshAnswers | None = None  # answers scored on read (serving.fresh)
        self.served: Served | None = None
        self.store_stamp: Any = None
        self.store_error: str | None = None
        self.events: EventUpdates | None = None  # POST /events on this store (serving.events)
        self.events_error: str | None = "no online store loaded"
        self._reload_store()
        apis = Cintel.apis  # type: ignore[attr-defined]
        # the guard answers these two itself, validated by the endpoints' own input models
        self.fast_route = FastRoute(
            {
                "/profile": (apis["profile"].input_spec, self.answer_profile),
                "/profiles": (apis["profiles"].input_spec, self.answer_profiles),
            }
        )
        heap.settle(settings.gc)  # the long-lived heap out of the collector's full passes
        threading.Thread(target=self._follow, name="cintel-follow", daemon=True).start()
        readiness.mark_ready()  # the server's standby 503s only while no worker is up

    # ---- lifecycle -------------------------------------------------------------------
    def _reload_store(self) -> None:
        """Load the store again when materialize wrote a new one (atomic swap)."""
        s = self.settings
        stamp_path = s.store_dir / "meta.json"
        stamp = stamp_path.stat().st_mtime_ns if stamp_path.exists() else None
        if s.store == "file" and stamp is not None and stamp == self.store_stamp:
            return
        try:
            store = open_store(s.store, s.store_dir, s.redis_url, s.redis_prefix)
            answers = StoreAnswers(store, self.catalogue) if isinstance(store, FileStore) else None
            self._open_events(store)
            self.served = Served(store, answers)
            self.store_stamp = stamp
            self.store_error = None
        except Exception as exc:  # keep the last good store
            self.store_error = f"{type(exc).__name__}: {exc}"

    def _open_events(self, store: ProfileStore) -> None:
        """Events applied to this store (its history, the event log since its publish)."""
        old, s = self.events, self.settings
        if old is not None and old.history.name == store.meta.get("events", {}).get("history"):
            return  # the same publish (the Redis store is re-opened at every poll)
        redis_write = store.put_many if isinstance(store, RedisStore) else None
        try:
            updates = EventUpdates(
                s.events_dir,
                s.store_dir,
                store.meta,
                self.models,
                prepare=self._prepare_row,
                redis_write=redis_write,
                tier_value=s.tier_value,
                leave_to_updater=s.event_updater == "process",
            )
        except (NoHistory, OSError, KeyError, ValueError) as exc:
            self.events, self.events_error = None, f"{type(exc).__name__}: {exc}"
        else:
            updates.start()
            self.events, self.events_error = updates, None
        if old is not None:
            old.stop()

    def _prepare_row(self, rows: list[dict[str, Any]]) -> list[Any]:
        """Event-updated rows rendered for every later answer (serving.answers)."""
        return from_rows(rows, [str(r["customer_id"]) for r in rows], self.catalogue).prepared

    def _follow(self) -> None:
        try:
            self.models.load_cache()
        finally:
            self.models_loaded.set()
        heap.settle(self.settings.gc)
        self.models.refresh()
        self._mark_stale()
        interval = self.settings.poll_seconds
        while interval > 0:
            time.sleep(interval)
            self.models.refresh()
            self._reload_store()
            self._mark_stale()
            heap.settle(self.settings.gc)  # a new store or models, answers prepared since

    def __is_ready__(self) -> bool:
        return self.served is not None and self.models.ready

    async def _store_answers_wait(self, served: Served) -> None:
        """While the models load, wait for them if the store's answers are not theirs."""
        if self.models_loaded.is_set():
            return
        if not stale_models(served.store.meta.get("versions", {}), self.cached_versions):
            return
        deadline = time.monotonic() + MODEL_WAIT_S
        while not self.models_loaded.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def _no_store_body(self) -> bytes:
        return error_body(f"online store not loaded: {self.store_error}")

    def _no_store(self) -> Any:
        return _error(503, f"online store not loaded: {self.store_error}")

    def _knows(self, customer_id: str) -> bool:
        """In the online store, or answered by /score in this process."""
        if customer_id in self.scored:
            return True
        served = self.served
        if served is None:
            return False
        if self.events is not None and customer_id in self.events.rows:
            return True
        if isinstance(served.store, FileStore):
            return served.store.position(customer_id) is not None
        return served.store.get(customer_id) is not None

    # ---- which versions answer (serving.fresh) ------------------------------------------
    def _fresh_answers(self, served: Served) -> FreshAnswers | None:
        """Answers scored on read when the loaded champions are not the store's versions."""
        current = self.models.current
        if not self.models.ready:
            return None
        if not stale_models(served.store.meta.get("versions", {}), current.versions):
            return None
        fresh = self._fresh
        if fresh is None or fresh.store is not served.store or fresh.models is not current:
            fresh = self._fresh = FreshAnswers(served.store, current, self.catalogue)
        return fresh

    def _mark_stale(self) -> None:
        served = self.served
        versions = {} if served is None else served.store.meta.get("versions", {})
        self.metrics.stale(MODELS, stale_models(versions, self.models.current.versions))

    # ---- answering --------------------------------------------------------------------
    def _batch(self, served: Served, customer_ids: list[str]) -> tuple[Batch, dict[str, str]]:
        """The customers' answers and the model versions that produced them."""
        fresh = self._fresh_answers(served)
        batch = None if fresh is None else fresh.batch(customer_ids)
        if fresh is not None and batch is not None:
            return overlay(self.events, served.store.meta, batch, fresh.versions, customer_ids)
        versions = served.store.meta.get("versions", {})
        if served.answers is not None:
            batch = from_store(served.answers, customer_ids)
            return overlay(self.events, served.store.meta, batch, versions, customer_ids)
        rows = served.store.get_many(customer_ids)
        return from_rows(rows, customer_ids, self.catalogue), versions

    def _answer(
        self,
        endpoint: str,
        batch: Batch,
        versions: dict[str, str],
        ctx: OfferContext,
        started: float,
        store_as_of: str | None,
        cold: bool = False,
    ) -> list[bytes] | tuple[int, bytes]:
        """The answers, their decision records in the OS (or a 503 when that fails) and
        their request-log records, all in the OS before the answer goes out."""
        rules = self._rules.get(ctx)
        if rules is None:
            if len(self._rules) >= RULES_KEPT:
                self._rules.clear()
            rules = self._rules[ctx] = request_rules(self.catalogue, ctx)
        decided = None
        if self.record_decisions:
            ts = utc_now()
            decided = Decisions(request_head(endpoint, ctx.channel, store_as_of, versions), ts)
        answers = render(
            batch,
            self.catalogue,
            rules,
            self.contacts,
            versions,
            cold,
            decided=decided,
        )
        if decided is not None and decided.lines:
            try:
                self.decision_log.write_through(
                    b"".join(decided.lines), decided.ts, len(decided.lines)
                )
            except OSError as exc:
                return 503, error_body(f"decision log not writable, nothing answered: {exc}")
        latency_ms = (time.perf_counter() - started) * 1000
        # in the OS before the answer goes out, like the decision record: a SIGKILL of the
        # worker loses no answered request's line (queued for a writer thread, up to its
        # 50 ms linger of lines were lost); a failed write is counted, not a failed answer
        ts = decided.ts if decided is not None else utc_now()
        lines = log_block(endpoint, batch, versions, latency_ms, ts, cold)
        n = len(batch.prepared)
        try:
            self.requests.write_through(lines, ts, n)
        except OSError as exc:
            self.requests.dropped += n
            logger.warning("request log not writable (%d lines not logged): %s", n, exc)
        return answers

    # ---- /profile and /profiles: answered here or by the guard's fast route ----------
    async def answer_profile(self, request: ProfileRequest) -> tuple[int, bytes]:
        """Status and JSON body of a /profile answer (the endpoint and the fast route)."""
        started = time.perf_counter()
        served = self.served
        if served is None:
            return 503, self._no_store_body()
        if not self.models_loaded.is_set():
            await self._store_answers_wait(served)
        batch, versions = self._batch(served, [request.customer_id])
        if batch.missing:
            return 404, error_body(
                f"customer_id {request.customer_id!r} is not in the online store "
                f"(as of {served.store.meta.get('as_of')}); POST its features to /score instead",
                "customer_id",
            )
        ctx = _offer_context(request.channel, request.context)
        answers = self._answer(
            "/profile", batch, versions, ctx, started, served.store.meta.get("as_of")
        )
        return answers if isinstance(answers, tuple) else (200, answers[0])

    async def answer_profiles(self, request: ProfilesRequest) -> tuple[int, bytes]:
        """Status and JSON body of a /profiles answer (the endpoint and the fast route)."""
        started = time.perf_counter()
        if len(request.customer_ids) > self.settings.max_batch:
            return 400, error_body(
                f"customer_ids: {len(request.customer_ids)} ids, at most "
                f"{self.settings.max_batch} per request (CINTEL_MAX_BATCH)",
                "customer_ids",
            )
        served = self.served
        if served is None:
            return 503, self._no_store_body()
        if not self.models_loaded.is_set():
            await self._store_answers_wait(served)
        batch, versions = self._batch(served, request.customer_ids)
        ctx = _offer_context(request.channel, None)
        answers = self._answer(
            "/profiles", batch, versions, ctx, started, served.store.meta.get("as_of")
        )
        if isinstance(answers, tuple):
            return answers
        missing = orjson.dumps(batch.missing)
        return 200, b'{"profiles":[%b],"not_found":%b}' % (b",".join(answers), missing)

    # ---- endpoints ---------------------------------------------------------------------
    @bentoml.api(route="/profile")
    async def profile(self, request: ProfileRequest, /) -> ProfileAnswer:
        """The whole profile and ranked offers of one known customer."""
        return _sent(*await self.answer_profile(request))

    @bentoml.api(route="/profiles")
    async def profiles(self, request: ProfilesRequest, /) -> ProfilesAnswer:
        """Profiles of up to CINTEL_MAX_BATCH customers; unknown ids are listed apart."""
        return _sent(*await self.answer_profiles(request))

    @bentoml.api(route="/score")
    def score(self, request: ScoreRequest, /) -> ScoreAnswer:
        """Score a feature payload with the loaded champions (a customer the store lacks).
        The value tier, RFM and BTYD inputs are required; the answer names the features
        the payload left out (``missing_features``)."""
        started = time.perf_counter()
        self.models_loaded.wait(MODEL_WAIT_S)
        if not self.models.ready:
            return _error(503, "models are not loaded yet; see /readyz")
        current = self.models.current
        try:
            row = score_features(
                current.scorers, request.features, request.customer_id, current.input_columns
            )
            missing = missing_features(request.features, current.input_columns)
        except MissingFeatures as exc:
            field = f"features.{exc.names[0]}" if len(exc.names) == 1 else "features"
            return _error(400, f"features: {exc}", field)
        except BadFeature as exc:
            return _error(400, f"features: {exc}", f"features.{exc.name}")
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"features: {exc}", "features")
        cid = str(row["customer_id"])
        if request.customer_id is not None:
            self._remember(request.customer_id)
        batch = from_rows([row], [cid], self.catalogue, anonymous=request.customer_id is None)
        ctx = _offer_context(request.channel, request.context)
        # store_as_of null: the features came with the request
        answers = self._answer("/score", batch, current.versions, ctx, started, None, cold=True)
        if isinstance(answers, tuple):
            return _sent(*answers)
        return _json(answers[0][:-1] + b',"missing_features":' + orjson.dumps(missing) + b"}")

    def _remember(self, customer_id: str) -> None:
        self.scored.pop(customer_id, None)
        self.scored[customer_id] = None
        while len(self.scored) > SCORED_KEPT:
            del self.scored[next(iter(self.scored))]

    @bentoml.api(route="/feedback")
    def record_feedback(self, request: FeedbackRequest, /) -> FeedbackAnswer:
        """Store an offer outcome durably; contact caps count it at once. Either by decision
        (``decision_id`` from the answer, an offer shown in it, outcome accepted, declined,
        clicked or ignored; the same outcome twice counts once) or, the older body, by
        customer (``customer_id`` and ``channel``; the customer known to the store or
        scored by /score here, the offer one of the catalogue's)."""
        if request.decision_id is not None:
            return feedback_api.by_decision(request, self.decision_index, self.feedback)
        no_store = None if self.served is not None else self._no_store()
        return feedback_api.by_customer(
            request, self.offer_ids, self._knows, self.feedback, no_store
        )

    @bentoml.api(route="/events")
    def post_events(self, request: EventsRequest, /) -> EventsAnswer:
        """New transactions (one or a batch, the data contract's columns plus an event_id),
        stored durably before the answer; the same event_id twice is stored once. Each
        customer's features are recomputed from their history and events, rescored with
        the loaded champions and served by the next /profile, with their own as_of."""
        updates = self.events
        if updates is None:
            return _error(503, f"events cannot be applied to this store: {self.events_error}")
        try:
            body = receive(updates, request.events)
        except EventError as exc:
            return _error(400, str(exc), exc.field)
        except (ValueError, TypeError, OverflowError) as exc:  # a value no check foresaw
            return _error(400, f"events: {exc}", "events")
        except OSError as exc:
            return _error(503, f"event log not writable, nothing stored: {exc}")
        return _json(orjson.dumps(body))

    @bentoml.api(route="/prospect")
    def prospect(self, request: ProspectRequest, /) -> ProspectAnswer:
        """People with attributes only (no history), ranked by expected first-year value:
        look-alike score to the best customers, expected first-year value and first offer
        (serving.prospects). 503 until a cintel-prospect champion is loaded."""
        return self.prospects.answer(request, self.settings.max_batch)

    @bentoml.api(route="/status")
    def status(self) -> dict[str, Any]:
        """Loaded model versions, store size and as-of, failure counters."""
        served = self.served
        store = None if served is None else served.store
        return {
            **self.models.status(),
            **store_status(store, None if served is None else served.answers),
            **fresh_status(store, self._fresh, self.models.current.versions),
            "store_error": self.store_error,
            **log_status(
                self.requests, self.decision_log, self.decision_index, self.settings.decisions
            ),
            **heap.status(),
            **events_status(self.events, self.events_error),
        }


def _document() -> bytes:
    """The OpenAPI document /docs.json sends (built on its first request)."""
    catalogue = load_catalogue(get_service_settings().offers_path)
    return api_document(Cintel.openapi_spec.asdict(), catalogue)  # type: ignore[attr-defined]


def _fast_route() -> FastRoute | None:
    """The running service instance's fast route (None before BentoML has made it)."""
    try:
        instance = bentoml.get_current_service()
    except BentoMLException:
        return None
    return getattr(instance, "fast_route", None)


Cintel.add_asgi_middleware(GuardMiddleware, openapi=_document, fast=_fast_route)  # type: ignore[attr-defined]
