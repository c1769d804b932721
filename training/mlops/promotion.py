"""Apply the pure gate to a registered challenger: move aliases and record the decision."""

from __future__ import annotations

from collections.abc import Mapping

from mlflow import MlflowClient

from training.mlops import registry
from training.mlops.gate import GateDecision, decide
from training.mlops.tracking import model_name
from training.mlops.verify import LOAD_ERROR_TAG, UnusableVersionError, verify_version


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
    champion_unusable: str | None = None,
    verify: registry.Verifier | None = verify_version,
) -> GateDecision:
    """Decide on ``challenger_version`` of ``cintel-<model>``, promote it if it passes.

    Contract: the caller evaluates the challenger AND the current champion on the same
    fresh out-of-time data and passes both metric dicts (``champion_metrics`` None when
    there is no ``@champion``, or with ``champion_unusable``). Scores logged at training
    time are not comparable across runs trained on different windows, so they are never
    read from the registry.
    Tags ``gate.decision`` (promoted/rejected), ``gate.reason``, ``gate.metric``,
    ``gate.champion_score``, ``gate.challenger_score``, ``gate.champion_version`` and
    ``gate.at`` are written on the challenger version either way.

    ``champion_unusable`` (with ``champion_metrics`` None although there is a champion)
    says why the champion could not be evaluated on this data; the challenger is then
    judged on the absolute floors alone and ``gate.basis`` says so (``floors only``;
    otherwise ``champion comparison`` or ``no champion``). A challenger tagged
    ``serving.load_error`` is never promoted, and one that passes is test-loaded
    (``verify``) before ``@champion`` moves: a failure rejects it with the reason.
    """
    client = client or MlflowClient()
    name = model_name(model)
    version = str(challenger_version)
    champion = registry.champion_version(name, client)
    if champion == version:
        raise ValueError(f"{name} version {version} is already @champion")
    unusable = champion_unusable if champion is not None and champion_metrics is None else None
    if (champion is None) != (champion_metrics is None) and unusable is None:
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
        champion_unusable=None if unusable is None else f"champion v{champion} {unusable}",
    )
    load_error = client.get_model_version(name, version).tags.get(LOAD_ERROR_TAG)
    if decision.promote and load_error is not None:
        decision = GateDecision(False, f"{decision.reason}; but {LOAD_ERROR_TAG}: {load_error}")
    if decision.promote and verify is not None:
        try:
            verify(name, version, client)
        except UnusableVersionError as exc:
            decision = GateDecision(False, f"{decision.reason}; but {exc}")
    basis = "no champion" if champion is None else "champion comparison"
    tags = {
        "decision": "promoted" if decision.promote else "rejected",
        "reason": decision.reason,
        "metric": metric,
        "challenger_score": repr(float(challenger_metrics[metric])),
        "champion_score": "none" if champion_score is None else repr(champion_score),
        "champion_version": champion or "none",
        "basis": "floors only" if unusable is not None else basis,
    }
    if unusable is not None:
        tags["champion_unusable"] = unusable
    registry.record_decision(name, version, tags, client)
    if decision.promote:
        registry.promote(name, version, client, verify=None)  # verified above
    return decision
