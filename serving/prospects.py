"""People with attributes only: ``POST /prospect`` and ``cintel prospects``, one path.

Downhill and small: check the input with the data contract's checks
(``training.prospect.inputs``), score it with the ``cintel-prospect`` champion, rank by
expected first-year value (the acquisition list), answer. The champion is followed by a
``ModelManager`` of its own (local cache, smoke test, atomic swap, as the other models),
so it never enters the store's answers. The first-offer family is mapped to the offer
catalogue's offer (``serving.prospect_offers``). Each answer goes to the request log (one
line per person: the scores and the offer, no id, no attribute).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from serving.catalogue import Catalogue, default_catalogue
from serving.errors import error_response
from serving.follower import Listener, ModelManager
from serving.jsonlog import JsonLog
from serving.prospect_schemas import ProspectRequest
from serving.scoring import smoke_test
from training.data.checks import DataValidationError, ValidationReport

MODEL = "prospect"
ID = "prospect_id"
RANKED = (
    ID,
    "rank",
    "lookalike_score",
    "lookalike_lift",
    "expected_first_year_value",
    "first_offer_family",
    "first_offer_id",
    "first_offer_probability",
    "first_offer_lift",
)


class ProspectError(ValueError):
    """A bad /prospect body; ``field`` is its dotted path."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def rank(scored: pd.DataFrame) -> pd.DataFrame:
    """Best first: expected first-year value, then look-alike score, then id (stable);
    ``customer_id`` becomes ``prospect_id`` and ``rank`` counts from 1."""
    ordered = scored.rename(columns={"customer_id": ID}).sort_values(
        ["expected_first_year_value", "lookalike_score", ID],
        ascending=[False, False, True],
        kind="stable",
    )
    ordered.insert(1, "rank", range(1, len(ordered) + 1))
    return ordered.reset_index(drop=True)[list(RANKED)]


def score_table(
    model: Any,
    frame: pd.DataFrame,
    name: str = "prospects",
    catalogue: Catalogue | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """The ranked acquisition list of a prospects table, and the validation warnings;
    DataValidationError naming file, column and rows on bad input. ``first_offer_id`` is
    the offer of ``catalogue`` (default: the built-in one) for the first-offer family."""
    from serving.prospect_offers import first_offer_ids
    from training.prospect.inputs import validate_prospects

    features, report = validate_prospects(frame, model, name)
    scored = model.predict_frame(features)
    ids = first_offer_ids(
        catalogue or default_catalogue(),
        scored["first_offer_family"].tolist(),
        scored["first_offer_probability"].tolist(),
    )
    return rank(scored.assign(first_offer_id=ids)), report


def request_frame(request: ProspectRequest, attributes: list[str]) -> pd.DataFrame:
    """The body as a prospects table; ProspectError naming the first attribute that is
    unknown or left out (null is how a prospect's unknown attribute is sent)."""
    known = set(attributes)
    for i, person in enumerate(request.prospects):
        for key in person.attributes:
            if key not in known:
                raise ProspectError(
                    f"prospects[{i}].attributes.{key}: unknown attribute; the prospect model "
                    f"takes {', '.join(attributes)}",
                    f"prospects[{i}].attributes.{key}",
                )
        for name in attributes:
            if name not in person.attributes:
                raise ProspectError(
                    f"prospects[{i}].attributes.{name}: required (send null when unknown); "
                    f"the prospect model takes {', '.join(attributes)}",
                    f"prospects[{i}].attributes.{name}",
                )
    return pd.DataFrame(
        {
            ID: [p.prospect_id for p in request.prospects],
            **{a: [p.attributes[a] for p in request.prospects] for a in attributes},
        }
    )


def _field(exc: DataValidationError, attributes: list[str]) -> str:
    from training.prospect.inputs import first_row

    issue = exc.report.errors[0]
    row = first_row(issue)
    where = "prospects" if row is None else f"prospects[{row}]"
    if issue.column in attributes:
        return f"{where}.attributes.{issue.column}"
    return f"{where}.{ID}" if issue.column else where


def answer_table(
    model: Any, request: ProspectRequest, catalogue: Catalogue | None = None
) -> pd.DataFrame:
    """The ranked prospects of a request, ``top`` of them when asked."""
    table, _ = score_table(
        model, request_frame(request, list(model.attributes)), catalogue=catalogue
    )
    return table if request.top is None else table.head(request.top)


def answer_body(
    model: Any, version: str, request: ProspectRequest, catalogue: Catalogue | None = None
) -> bytes:
    """The JSON answer: the prospects ranked, ``top`` of them when asked."""
    return body_of(answer_table(model, request, catalogue), version)


def body_of(table: pd.DataFrame, version: str) -> bytes:
    """The JSON answer of a ranked table."""
    people = [
        {
            ID: str(r[ID]),
            "rank": int(r["rank"]),
            "lookalike": {"score": _num(r["lookalike_score"]), "lift": _num(r["lookalike_lift"])},
            "expected_first_year_value": _num(r["expected_first_year_value"]),
            "first_offer": {
                "family": str(r["first_offer_family"]),
                "probability": _num(r["first_offer_probability"]),
                "lift": _num(r["first_offer_lift"]),
                "offer_id": _text(r["first_offer_id"]),
            },
        }
        for r in table.to_dict("records")
    ]
    return orjson.dumps({"prospects": people, "model_versions": {MODEL: version}})


def _text(value: Any) -> str | None:
    return None if value is None or value != value else str(value)


def _num(value: Any) -> float | None:
    number = float(value)
    return None if number != number else round(number, 6)


class Prospects:
    """The service's prospect scorer: the followed champion and the request handler."""

    def __init__(
        self,
        cache: Path,
        tracking_uri: str,
        packaged: Path | None = None,
        listener: Listener | None = None,
        catalogue: Catalogue | None = None,
        log: JsonLog | None = None,
    ) -> None:
        self.catalogue = catalogue or default_catalogue()
        self.log = log  # the service's request log (None: not logged)
        self.models = ModelManager(
            cache,
            tracking_uri,
            smoke_test,
            models=(MODEL,),
            packaged=packaged,
            listener=listener,
            tag_served=True,
            required=(),
        )

    def follow(self, poll_seconds: float) -> None:
        """Load the cached champion, then follow the registry (on a daemon thread)."""

        def run() -> None:
            self.models.load_cache()
            self.models.refresh()
            self.models.start(poll_seconds)

        threading.Thread(target=run, name="cintel-prospect", daemon=True).start()

    def answer(self, request: ProspectRequest, max_batch: int) -> Any:
        """POST /prospect: the ranked prospects, or one error naming the field; an answer
        goes to the request log (``serving.request_record.prospect_lines``)."""
        started = time.perf_counter()
        if len(request.prospects) > max_batch:
            return error_response(
                400,
                f"prospects: {len(request.prospects)} people, at most {max_batch} per request "
                "(CINTEL_MAX_BATCH)",
                "prospects",
            )
        current = self.models.current
        scorer = current.scorers.get(MODEL)
        if scorer is None:
            why = self.models.last_error or "no cintel-prospect @champion yet"
            return error_response(503, f"prospect model not loaded ({why}); run `cintel train`")
        version = current.versions[MODEL]
        try:
            table = answer_table(scorer, request, self.catalogue)
            body = body_of(table, version)
        except ProspectError as exc:
            return error_response(400, str(exc), exc.field)
        except DataValidationError as exc:
            issue = exc.report.errors[0]
            attributes = list(getattr(scorer, "attributes", {}))
            return error_response(400, str(issue), _field(exc, attributes))
        except (ValueError, TypeError, OverflowError) as exc:  # a value no check foresaw
            return error_response(400, f"prospects: {exc}", "prospects")
        self._log(table, version, (time.perf_counter() - started) * 1000)
        from starlette.responses import Response

        return Response(body, media_type="application/json")

    def _log(self, table: pd.DataFrame, version: str, latency_ms: float) -> None:
        """The answer's lines in the request log; a failed write is counted, never a
        failed answer (as /profile's)."""
        if self.log is None:
            return
        from serving.decisions import utc_now
        from serving.request_record import PROSPECT_OUTPUTS, prospect_lines

        people = table[list(PROSPECT_OUTPUTS)].astype(object)
        rows = [
            {str(k): v for k, v in r.items()}
            for r in people.where(people.notna(), None).to_dict("records")
        ]
        ts = utc_now()
        try:
            data = prospect_lines(rows, orjson.dumps({MODEL: version}), latency_ms, ts)
            self.log.write_through(data, ts, len(rows))
        except OSError:
            self.log.dropped += len(rows)
