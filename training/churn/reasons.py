"""Reason codes: the top drivers of a churn score, in words a call-centre agent understands.

A driver is a feature whose XGBoost contribution (``pred_contribs=True``, log-odds) pushes
this customer's risk UP. Each feature has an ordered list of templates; the first whose
fields are all known and whose conditions hold is used, else a generic sentence
("<readable name> is high/low" against the training median); a driver whose value is
missing and that no template covers is skipped. The whole table is plain
JSON in the manifest, so the service rebuilds the same words without this module.

Template language (what the service re-implements):
- ``text``: a ``str.format`` string over feature names and derived fields.
- ``when``: a list of ``[field, op, value]``; ``op`` in ``< <= > >= ==``; ``value`` a
  number, another field name, or ``"median"`` (the training median of ``field``).
- derived fields: ``["pct_drop", a, b]`` = 100 * (b - a) / b when b > 0;
  ``["percent", a]`` = 100 * a.
"""

from __future__ import annotations

import functools
import math
import operator
import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


@dataclass(frozen=True)
class ReasonTable:
    """What turns contributions into words; stored as-is in the manifest."""

    labels: dict[str, str]
    medians: dict[str, float]
    templates: dict[str, list[dict]]
    derived: dict[str, list[str]]

    def to_dict(self) -> dict[str, object]:
        return {
            "labels": self.labels,
            "medians": self.medians,
            "templates": self.templates,
            "derived": self.derived,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReasonTable:
        return cls(data["labels"], data["medians"], data["templates"], data["derived"])


def _number(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out


def _derive(op: list[str], row: dict[str, object]) -> float:
    if op[0] == "percent":
        return 100.0 * _number(row.get(op[1]))
    if op[0] == "pct_drop":
        a, b = _number(row.get(op[1])), _number(row.get(op[2]))
        return 100.0 * (b - a) / b if b > 0 else math.nan
    raise ValueError(f"unknown derived-field op {op[0]!r}")


@functools.lru_cache(maxsize=256)
def _fields(text: str) -> tuple[str, ...]:
    return tuple(f for _, f, _, _ in string.Formatter().parse(text) if f)


def _apply(template: dict, values: dict[str, float], medians: dict[str, float]) -> str | None:
    """The filled template, or None when a field is unknown or a condition fails."""
    text: str = template["text"]
    needed = [*_fields(text), *(c[0] for c in template["when"])]
    if not all(math.isfinite(values.get(f, math.nan)) for f in needed):
        return None
    for field, op, ref in template["when"]:
        if ref == "median":
            bound = medians.get(field, math.nan)
        elif isinstance(ref, str):
            bound = values.get(ref, math.nan)
        else:
            bound = float(ref)
        if not (math.isfinite(bound) and _OPS[op](values[field], bound)):
            return None
    return text.format(**{f: values[f] for f in _fields(text)})


def _values(row: dict[str, object], table: ReasonTable) -> dict[str, float]:
    """The row's numbers plus the derived fields (text values become NaN)."""
    values = {k: _number(v) for k, v in row.items()}
    values.update({k: _derive(op, row) for k, op in table.derived.items()})
    return values


def describe(
    feature: str,
    row: dict[str, object],
    table: ReasonTable,
    values: dict[str, float] | None = None,
) -> str | None:
    """One driver in words, from the customer's own values (``row``: feature -> raw value);
    None when the value is missing and no template covers it. ``values`` caches
    ``_values(row, table)`` across the drivers of one row."""
    values = _values(row, table) if values is None else values
    for template in table.templates.get(feature, []):
        text = _apply(template, values, table.medians)
        if text is not None:
            return text
    label = table.labels.get(feature, feature)
    if feature not in table.medians:  # categorical
        raw = row.get(feature)
        if raw is None or raw is pd.NA or (isinstance(raw, float) and math.isnan(raw)):
            return None
        return f"{label}: {str(raw).replace(';', ',')}"
    value, median = values.get(feature, math.nan), table.medians[feature]
    if not math.isfinite(value):
        return None
    if value > median:
        return f"{label} is high"
    if value < median:
        return f"{label} is low"
    return f"{label} is {value:g}"


def _number_column(values: np.ndarray) -> np.ndarray:
    """``_number`` of every value of a column, as float64 (text that is no number: NaN)."""
    if values.dtype.kind in "fiub":
        return values.astype("float64")
    return np.fromiter((_number(v) for v in values), dtype="float64", count=len(values))


class _Numbers:
    """What ``_values`` gives each row, column by column over all rows (computed on use)."""

    def __init__(self, raw: dict[str, np.ndarray], table: ReasonTable, n: int) -> None:
        self._raw, self._table, self.n = raw, table, n
        self._cache: dict[str, np.ndarray] = {}

    def _plain(self, name: str) -> np.ndarray:
        raw = self._raw.get(name)
        return np.full(self.n, np.nan) if raw is None else _number_column(raw)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            op = self._table.derived.get(name)
            if op is None:
                out = self._plain(name)
            elif op[0] == "percent":
                out = 100.0 * self._plain(op[1])
            elif op[0] == "pct_drop":
                a, b = self._plain(op[1]), self._plain(op[2])
                with np.errstate(divide="ignore", invalid="ignore"):
                    out = np.where(b > 0, 100.0 * (b - a) / b, np.nan)
            else:
                raise ValueError(f"unknown derived-field op {op[0]!r}")
            self._cache[name] = out
        return self._cache[name]


def _template_choice(
    templates: list[dict], numbers: _Numbers, medians: dict[str, float], n: int
) -> np.ndarray:
    """Per row, the position of the first template ``_apply`` fills (-1: none)."""
    choice = np.full(n, -1, dtype=np.int64)
    for k, template in enumerate(templates):
        needed = [*_fields(template["text"]), *(c[0] for c in template["when"])]
        ok = np.ones(n, dtype=bool)
        for f in needed:
            ok &= np.isfinite(numbers[f])
        for field, op, ref in template["when"]:
            if ref == "median":
                bound = np.full(n, medians.get(field, math.nan))
            elif isinstance(ref, str):
                bound = numbers[ref]
            else:
                bound = np.full(n, float(ref))
            with np.errstate(invalid="ignore"):
                ok &= np.isfinite(bound) & _OPS[op](numbers[field], bound)
        choice[(choice < 0) & ok] = k
    return choice


class _Generic:
    """``describe``'s sentence without a template, for one row at a time (None: no
    sentence): made only for the rows and drivers shown, not for every row."""

    def __init__(
        self, feature: str, raw: dict[str, np.ndarray], numbers: _Numbers, table: ReasonTable
    ) -> None:
        self.label = table.labels.get(feature, feature)
        self.categorical = feature not in table.medians
        self.values = raw.get(feature) if self.categorical else numbers[feature]
        self.median = table.medians.get(feature, math.nan)
        self.high, self.low = f"{self.label} is high", f"{self.label} is low"

    def __call__(self, i: int) -> str | None:
        if self.values is None:
            return None
        if self.categorical:
            value = self.values[i]
            if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                return None
            return f"{self.label}: {str(value).replace(';', ',')}"
        number = float(self.values[i])
        if number > self.median:
            return self.high
        if number < self.median:
            return self.low
        if math.isfinite(number):
            return f"{self.label} is {number:g}"
        return None


def explain(
    contribs: np.ndarray,
    features: pd.DataFrame,
    feature_names: list[str],
    table: ReasonTable,
    top: int = 3,
) -> list[list[str]]:
    """Per row, up to ``top`` distinct sentences for the features that raise the risk most.

    ``contribs`` is ``booster.predict(dmatrix, pred_contribs=True)`` (bias column last).
    The words are ``describe``'s, computed column-wise: each driver feature's templates
    and generic sentence are evaluated over all rows at once, and only the template
    sentences shown are formatted, row by row.
    """
    contribs = np.asarray(contribs)[:, : len(feature_names)]
    n = len(contribs)
    order = np.argsort(-contribs, axis=1, kind="stable")[:, : max(top * 3, top)]
    records = features.reset_index(drop=True)
    wanted = set(feature_names) | _template_fields(table)
    raw = {str(c): records[c].to_numpy() for c in records.columns if c in wanted}
    numbers = _Numbers(raw, table, n)
    generic: dict[int, _Generic] = {}
    chosen: dict[int, list[int]] = {}
    values: dict[str, list[float]] = {}

    def sentence(j: int, i: int) -> str | None:
        if j not in generic:
            feature = feature_names[j]
            templates = table.templates.get(feature, [])
            chosen[j] = _template_choice(templates, numbers, table.medians, n).tolist()
            generic[j] = _Generic(feature, raw, numbers, table)
        k = chosen[j][i]
        if k < 0:
            return generic[j](i)
        text: str = table.templates[feature_names[j]][k]["text"]
        fields = _fields(text)
        for f in fields:
            if f not in values:
                values[f] = numbers[f].tolist()
        return text.format(**{f: values[f][i] for f in fields})

    out: list[list[str]] = []
    stops = (np.take_along_axis(contribs, order, axis=1) <= 0).tolist()
    for i, (drivers, stop) in enumerate(zip(order.tolist(), stops, strict=True)):
        texts: list[str] = []
        for j, done in zip(drivers, stop, strict=True):
            if done or len(texts) == top:
                break
            text = sentence(j, i)
            if text is not None and text not in texts:
                texts.append(text)
        out.append(texts)
    return out


def _template_fields(table: ReasonTable) -> set[str]:
    fields = {f for op in table.derived.values() for f in op[1:]}
    for templates in table.templates.values():
        for t in templates:
            fields.update(_fields(t["text"]))
            fields.update(c[0] for c in t["when"])
            fields.update(c[2] for c in t["when"] if isinstance(c[2], str) and c[2] != "median")
    return fields
