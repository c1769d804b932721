"""Answers from the loaded champions when the store was materialized with other versions.

After a promote or a rollback the service loads the new champion within one poll, but the
store still holds the old version's precomputed scores. Until the next ``cintel
materialize`` a customer asked for is scored on read from the model inputs materialize
wrote beside the store (``features-*.arrow``) with every loaded champion, exactly as
materialize would score it (``score_all``), and the answer names the loaded versions. Each
customer is scored once per (store, model set) and kept (``MAX_KEPT`` customers at most).
When the store has no model inputs (the Redis store, a Spark publish, an old store) or
scoring fails, the precomputed answer is served with the store's versions, so an answer
always names the versions that produced it; ``/status`` says which case holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from serving.answers import Batch, Prepared, from_rows
from serving.catalogue import Catalogue
from serving.follower import ModelSet
from serving.scoring import REASONS_FROM, model_outputs
from serving.store import ProfileStore, python_value

MAX_KEPT = 100_000


def stale_models(store_versions: Mapping[str, str], loaded: Mapping[str, str]) -> list[str]:
    """The loaded models whose version differs from the one the store was scored with."""
    return sorted(m for m, v in loaded.items() if str(store_versions.get(m)) != str(v))


class FreshAnswers:
    """Prepared answers of one store scored on read with one set of loaded champions."""

    def __init__(self, store: ProfileStore, models: ModelSet, catalogue: Catalogue) -> None:
        self.store = store
        self.models = models
        self.catalogue = catalogue
        self.versions = dict(models.versions)
        self.stale = stale_models(store.meta.get("versions", {}), models.versions)
        self.approx = store.meta.get("churn_reasons_method") == "approx"
        self.error: str | None = None  # why answers fall back to the store's scores
        self.scored = 0
        self._kept: dict[str, Prepared] = {}
        self._columns: dict[str, list[str]] | None = None  # each loaded model's outputs

    def batch(self, customer_ids: Sequence[str]) -> Batch | None:
        """The customers' answers from the loaded champions; None when that cannot be done
        (the caller then serves the store's answers with the store's versions)."""
        if self.error is not None:
            return None
        todo = [c for c in dict.fromkeys(customer_ids) if c not in self._kept]
        if todo:
            try:
                self._score(todo)
            except Exception as exc:  # never a 5xx: the store's answers are still true
                self.error = f"{type(exc).__name__}: {exc}"
                return None
        found = [c for c in customer_ids if c in self._kept]
        missing = [c for c in customer_ids if c not in self._kept]
        return Batch(found, [self._kept[c] for c in found], missing)

    def _score(self, customer_ids: list[str]) -> None:
        rows = self.store.get_many(customer_ids)
        found = [(c, row) for c, row in zip(customer_ids, rows, strict=True) if row is not None]
        if not found:
            return
        features = self.store.features([c for c, _ in found])
        if features is None:
            raise LookupError(
                "the store keeps no model inputs (Redis, Spark or an older materialize): "
                "run `cintel materialize` to publish the new champions' scores"
            )
        outputs = {name: self._outputs(name, features) for name in self.stale}
        layout = self._layout(found[0][1], features, outputs)
        records = [_records(frame) for frame in outputs.values()]
        fresh: list[dict[str, Any]] = []
        for i, (cid, row) in enumerate(found):
            values = dict(row)
            for model_rows in records:
                values.update(model_rows[i])
            # the layout's columns re-scored; the store's other columns (the customer
            # economics and lifecycle of materialize) kept as published, but the cells
            # after a new segments or potential champion (below)
            fresh.append(
                values
                | {k: values.get(k) for k in layout}
                | {"customer_id": cid, "as_of": row.get("as_of")}
            )
        if any(m in self.stale for m in ("segments", "potential")):
            # their cells follow the new scores, placed by the publish's cuts and merges
            from serving.batch.materialize_cells import cells_of_rows

            fresh = cells_of_rows(fresh, features, self.store.meta.get("cells"))
        batch = from_rows(list(fresh), [c for c, _ in found], self.catalogue)
        if len(self._kept) + len(batch.customer_ids) > MAX_KEPT:
            self._kept.clear()
        self._kept.update(zip(batch.customer_ids, batch.prepared, strict=True))
        self.scored += len(batch.customer_ids)

    def _outputs(self, name: str, features: pd.DataFrame) -> pd.DataFrame:
        reasons_from = float(self.store.meta.get("churn_reasons_from", REASONS_FROM))
        scorer = self.models.scorers[name]
        return model_outputs(name, scorer, features, reasons_from, self.approx)

    def _layout(
        self, row: Mapping[str, Any], features: pd.DataFrame, outputs: Mapping[str, pd.DataFrame]
    ) -> list[str]:
        """The row's columns in materialize's order: kept features, then every model's
        outputs by model name (each model's columns learned once by scoring one row)."""
        if self._columns is None:
            self._columns = {
                name: list(outputs[name].columns)
                if name in outputs
                else list(self._outputs(name, features.iloc[:1]).columns)
                for name in sorted(self.models.scorers)
            }
        from serving.batch.materialize import kept_columns  # training's imports: not at start

        keep = kept_columns(list(features.columns))
        order = [*keep, *(c for name in sorted(self._columns) for c in self._columns[name])]
        missing = [c for c in order if c not in row and not any(c in o for o in outputs.values())]
        if missing:
            raise ValueError(f"store rows lack columns {missing[:5]}: re-materialize")
        return order


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a scored frame as dicts of Python values (NaN as None), as the store reads."""
    columns = list(frame.columns)
    arrays = [frame[c].to_numpy() for c in columns]
    return [
        {c: python_value(a[i]) for c, a in zip(columns, arrays, strict=True)}
        for i in range(len(frame))
    ]
