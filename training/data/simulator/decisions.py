"""Decision records without the service: the spec's log format, built from a frame of
customers and their offers' expected responses (tests, benchmarks, batch simulations).

Each customer is shown every offer whose expected response is known, ranked by expected
value (expected response × the offer's value), except the offers of campaigns the hash
assignment (``training.data.holdout``) holds them out of, which are recorded as withheld.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from training.data.holdout import control_mask


@dataclass(frozen=True)
class OfferSpec:
    """What a decision record says about one offer."""

    offer_id: str
    kind: str
    family: str | None = None
    value: float = 1.0
    campaign: str | None = None  # default: the kind's campaign id
    window_days: float = 30.0

    @property
    def campaign_id(self) -> str:
        return self.campaign or self.kind


def build_decisions(
    frame: pd.DataFrame,
    offers: Sequence[OfferSpec],
    holdout: dict[str, float],
    ts: pd.Timestamp | Sequence[pd.Timestamp] | pd.Series,
    endpoint: str = "/profile",
    store_as_of: str | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One decision record per row of ``frame`` (columns ``customer_id``, optional
    ``channel``, and ``er:<offer_id>``: the offer's expected response, NaN when the offer
    is not eligible). ``holdout``: campaign id -> control share (missing: 0.10). The
    decision ids come from a seeded generator so the records are reproducible."""
    n = len(frame)
    ids = frame["customer_id"].astype(str).to_numpy()
    times = pd.Series(pd.to_datetime(ts if not isinstance(ts, pd.Timestamp) else [ts] * n))
    stamps = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").to_numpy()
    channels = frame["channel"].to_numpy() if "channel" in frame else np.full(n, None)
    campaigns = sorted({o.campaign_id for o in offers})
    control = {c: control_mask(ids, c, holdout.get(c, 0.10)) for c in campaigns}
    expected = np.column_stack(
        [frame[f"er:{o.offer_id}"].to_numpy(dtype=np.float64) for o in offers]
    )
    values = np.array([o.value for o in offers])
    rng = np.random.default_rng(seed)
    uuids = rng.bytes(16 * n)
    records = []
    for i in range(n):
        shown: list[dict[str, Any]] = []
        held: dict[str, list[dict[str, Any]]] = {}
        order = np.argsort(-(expected[i] * values), kind="stable")
        for j in order:
            if np.isnan(expected[i, j]):
                continue
            o = offers[j]
            entry = {
                "offer_id": o.offer_id,
                "campaign": o.campaign_id,
                "family": o.family,
                "kind": o.kind,
                "expected_response": float(expected[i, j]),
                "expected_value": float(expected[i, j] * values[j]),
                "response_window_days": o.window_days,
            }
            if control[o.campaign_id][i]:
                held.setdefault(o.campaign_id, []).append(entry)
            else:
                shown.append({**entry, "rank": len(shown) + 1})
        records.append(
            {
                "decision_id": uuid.UUID(bytes=uuids[16 * i : 16 * i + 16], version=4).hex,
                "ts": stamps[i],
                "endpoint": endpoint,
                "customer_id": ids[i],
                "channel": channels[i],
                "store_as_of": store_as_of,
                "versions": {},
                "offers": shown,
                "held_out": [{"campaign": c, "offers": v} for c, v in held.items()],
                "assignment": {c: "control" if control[c][i] else "treated" for c in campaigns},
                "ranking": {c: "expected_value" for c in campaigns},
            }
        )
    return records


def write_decisions(records: Iterable[dict[str, Any]], folder: Path) -> list[Path]:
    """Append records to ``folder/YYYY-MM-DD.jsonl`` (the UTC day of each ``ts``)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[bytes]] = {}
    for record in records:
        by_day.setdefault(str(record["ts"])[:10], []).append(orjson.dumps(record))
    paths = []
    for day, lines in sorted(by_day.items()):
        path = folder / f"{day}.jsonl"
        with open(path, "ab") as fh:
            fh.write(b"\n".join(lines) + b"\n")
        paths.append(path)
    return paths
