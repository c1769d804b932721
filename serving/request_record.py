"""What one answered request looks like in the request log (pure; no I/O).

Customer ids only: ``attr_*`` columns (personal attributes) are never logged. Monitoring
reads these records back (``monitoring.request_reader``). A ``/prospect`` answer is logged
the same way, one line per person, with what was answered (scores, first offer) and
neither the prospect's id nor any attribute (``prospect_lines``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from serving.scoring import LOGGED_OUTPUTS


@lru_cache(maxsize=64)
def log_layout(keys: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Feature and output keys logged for a row layout (computed once per store layout):
    no id, no ``attr_*``, model outputs apart."""
    features = [
        k
        for k in keys
        if k != "customer_id" and not k.startswith("attr_") and k not in LOGGED_OUTPUTS
    ]
    outputs = [k for k in LOGGED_OUTPUTS if k in keys]
    outputs += [k for k in keys if k.startswith("propensity_any__")]
    return features, outputs


def log_fragment(row: dict[str, Any]) -> bytes:
    """The part of a log line that depends only on the customer's row:
    ``"features":{...},"outputs":{...}`` (prepared once per customer, serving.answers)."""
    feature_keys, output_keys = log_layout(tuple(row))
    features = {k: v for k in feature_keys if not isinstance(v := row[k], str | list)}
    outputs = {k: row[k] for k in output_keys}
    return orjson.dumps({"features": features, "outputs": outputs})[1:-1]


def request_line(
    endpoint: str,
    customer_id: str | None,
    cold: bool,
    fragment: bytes,
    versions_json: bytes,
    latency_ms: float,
    ts: str,
) -> bytes:
    """One request-log line (JSON, no newline)."""
    head = orjson.dumps(
        {
            "ts": ts,
            "endpoint": endpoint,
            "customer_id": customer_id,
            "cold_start": cold,
            "latency_ms": latency_ms,
        }
    )
    return b"".join((head[:-1], b',"versions":', versions_json, b",", fragment, b"}"))


def request_lines(
    endpoint: str,
    customer_ids: list[str],
    fragments: list[bytes],
    cold: bool,
    versions_json: bytes,
    latency_ms: float,
    ts: str,
) -> bytes:
    """``request_line`` for each customer of one answer, newline-terminated, in one join:
    what the customers share is serialized once."""
    start = orjson.dumps({"ts": ts, "endpoint": endpoint})[:-1] + b',"customer_id":'
    rest = orjson.dumps({"cold_start": cold, "latency_ms": latency_ms})[1:-1]
    middle = b',%b,"versions":%b,' % (rest, versions_json)
    dumps = orjson.dumps
    parts: list[bytes] = []
    for cid, fragment in zip(customer_ids, fragments, strict=True):
        parts += (start, dumps(cid), middle, fragment, b"}\n")
    return b"".join(parts)


# what a /prospect line keeps of each ranked person: the answer, nothing the caller sent
PROSPECT_OUTPUTS = (
    "rank",
    "lookalike_score",
    "lookalike_lift",
    "expected_first_year_value",
    "first_offer_family",
    "first_offer_id",
    "first_offer_probability",
)


def prospect_lines(
    people: list[dict[str, Any]], versions_json: bytes, latency_ms: float, ts: str
) -> bytes:
    """The request-log lines of one /prospect answer (newline-terminated): one per ranked
    person, ``customer_id`` null and no features (a prospect's attributes and id are
    personal data), the answer's outputs (``PROSPECT_OUTPUTS``)."""
    lines = []
    for person in people:
        outputs = {k: person.get(k) for k in PROSPECT_OUTPUTS}
        fragment = orjson.dumps({"features": {}, "outputs": outputs})[1:-1]
        line = request_line("/prospect", None, False, fragment, versions_json, latency_ms, ts)
        lines.append(line)
    return b"".join(line + b"\n" for line in lines)
