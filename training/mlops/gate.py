"""The promotion gate: a pure decision on challenger and champion metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote the challenger, and why in words an operator can read."""

    promote: bool
    reason: str


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _bound_failures(
    metrics: Mapping[str, float], bounds: Mapping[str, float], is_floor: bool
) -> list[str]:
    """Human-readable failures of absolute floors (minimums) or ceilings (maximums)."""
    failures = []
    for name, bound in bounds.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name} missing from challenger metrics")
        elif not math.isfinite(value):
            failures.append(f"{name} is {value}")
        elif is_floor and value < bound:
            failures.append(f"{name} {_fmt(value)} < floor {_fmt(bound)}")
        elif not is_floor and value > bound:
            failures.append(f"{name} {_fmt(value)} > ceiling {_fmt(bound)}")
    return failures


def decide(
    metric: str,
    challenger_score: float,
    champion_score: float | None,
    greater_is_better: bool,
    tolerance: float,
    floors: Mapping[str, float] | None,
    challenger_metrics: Mapping[str, float],
    ceilings: Mapping[str, float] | None = None,
    champion_unusable: str | None = None,
) -> GateDecision:
    """Promote when the challenger is no worse than the champion within ``tolerance``.

    With no champion (``champion_score`` None) the challenger needs only to pass the absolute
    ``floors`` (minimums) and ``ceilings`` (maximums, for lower-is-better metrics such as
    ``rmse``). The same holds, said so in the reason, when a champion exists but cannot be
    judged on this data (``champion_unusable`` says why: a changed family set, a corrupt
    artifact). Ties and the exact tolerance edge promote. A NaN or infinite score on either
    side never promotes: the comparison would be meaningless.
    """
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}")
    if not math.isfinite(challenger_score):
        return GateDecision(False, f"challenger {metric} is {challenger_score}; never promoted")
    if champion_score is not None and not math.isfinite(champion_score):
        return GateDecision(
            False,
            f"champion {metric} is {champion_score} on this data; cannot compare, "
            "promote by hand if intended",
        )
    metrics = {**challenger_metrics, metric: challenger_score}
    failures = _bound_failures(metrics, floors or {}, is_floor=True)
    failures += _bound_failures(metrics, ceilings or {}, is_floor=False)
    bounds = "floors passed" if not failures else "floors failed: " + ", ".join(failures)
    challenger = f"challenger {metric} {_fmt(challenger_score)}"
    if champion_score is None and champion_unusable is not None:
        return GateDecision(
            not failures,
            f"{challenger}; {champion_unusable}, so judged on the absolute floors alone; {bounds}",
        )
    if champion_score is None:
        return GateDecision(not failures, f"{challenger}; no champion yet; {bounds}")
    if greater_is_better:
        margin = challenger_score - (champion_score - tolerance)
    else:
        margin = (champion_score + tolerance) - challenger_score
    no_worse = margin >= 0 or _close(margin)
    op = ("≥" if no_worse else "<") if greater_is_better else ("≤" if no_worse else ">")
    sign = "−" if greater_is_better else "+"
    comparison = (
        f"{challenger} {op} champion {_fmt(champion_score)} {sign} tolerance {_fmt(tolerance)}"
    )
    return GateDecision(no_worse and not failures, f"{comparison}; {bounds}")


def _close(margin: float) -> bool:
    """Absorb float noise at the tolerance edge (0.805 - 0.005 is not exactly 0.8)."""
    return math.isclose(margin, 0.0, abs_tol=1e-12)
