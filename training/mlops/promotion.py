"""Apply the pure gate to a registered challenger: move aliases and record the decision."""

from __future__ import annotations

from collections.abc import Mapping

from mlflow import MlflowClient

from training.mlops import registry
from training.mlops.gate import GateDecision, decide
from training.mlops.tracking import model_name


def run_gate(
    model: str,
    challenger_version: str | int,
    challenger_metrics: Mapping[str, float],
    champion_metrics: Mapping[str, float] | None,
    metric: str,
    greater_is_better: bool = True,
    tolerance: float = 0.0,
    floors: Mapping[str, float] | None = None,
    ceilings: Mapping[str, float] | None = None,
    client: MlflowClient | None = None,
) -> GateDecision:
    """Decide on ``challenger_version`` of ``cintel-<model>``, promote it if it passes.

    Contract: the caller evaluates the challenger AND the current champion on the same
    fresh out-of-time data and passes both metric dicts (``champion_metrics`` None exactly
    when there is no ``@champion``). Scores logged at training time are not comparable
    across runs trained on different windows, so they are never read from the registry.
    Tags ``gate.decision`` (promoted/rejected), ``gate.reason``, ``gate.metric``,
    ``gate.champion_score``, ``gate.challenger_score``, ``gate.champion_version`` and
    ``gate.at`` are written on the challenger version either way.
    """
    client = client or MlflowClient()
    name = model_name(model)
    version = str(challenger_version)
    champion = registry.champion_version(name, client)
    if champion == version:
        raise ValueError(f"{name} version {version} is already @champion")
    if (champion is None) != (champion_metrics is None):
        state = f"@champion is version {champion}" if champion else "there is no @champion"
        given = "were" if champion_metrics is not None else "were not"
        raise ValueError(f"{name}: champion metrics {given} given but {state}")
    if metric not in challenger_metrics:
        raise ValueError(f"{name} version {version}: challenger metrics lack {metric!r}")
    champion_score = None
    if champion_metrics is not None:
        if metric not in champion_metrics:
            raise ValueError(f"{name} version {champion}: champion metrics lack {metric!r}")
        champion_score = float(champion_metrics[metric])
    decision = decide(
        metric,
        float(challenger_metrics[metric]),
        champion_score,
        greater_is_better,
        tolerance,
        floors,
        challenger_metrics,
        ceilings=ceilings,
    )
    tags = {
        "decision": "promoted" if decision.promote else "rejected",
        "reason": decision.reason,
        "metric": metric,
        "challenger_score": repr(float(challenger_metrics[metric])),
        "champion_score": "none" if champion_score is None else repr(champion_score),
        "champion_version": champion or "none",
    }
    registry.record_decision(name, version, tags, client)
    if decision.promote:
        registry.promote(name, version, client)
    return decision
