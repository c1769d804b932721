"""Model registry by alias: register challengers, promote, roll back, record gate decisions.

Conventions for every model run (churn, propensity, segments, clv):

1. Call ``tracking.configure_tracking()`` once per process, then train inside
   ``with tracking.training_run("churn") as run:`` -- experiment ``cintel-<model>``.
2. Metric names are identical across runs of one model (the gate compares them): e.g.
   churn/propensity ``roc_auc``, ``pr_auc``, ``log_loss``, ``brier``; clv ``mae``, ``rmse``.
   Per-family propensity metrics: ``roc_auc.<family>``. No run-specific prefixes.
3. Inputs: ``tracking.log_snapshot_input(features, as_of, digest, context="training")``
   and the same with ``context="evaluation"`` for the out-of-time frame (wraps
   ``mlflow.log_input(mlflow.data.from_pandas(df, name=..., digest=...), context, tags)``).
   Also ``mlflow.log_params({"as_of": ..., "horizon_days": ...})``.
4. Reference sample: ``tracking.log_reference_sample(train_features)`` writes
   ``reference/reference.parquet`` (seeded 5,000-row sample, feature columns only).
5. Model: native flavour, ``name="model"``, a signature and an input example, features as
   float64 (the signature rejects an int column that arrives as float), e.g.
   ``mlflow.xgboost.log_model(clf, name="model", signature=infer_signature(X, proba),
   input_example=X.head(5), pip_requirements=tracking.pip_requirements("xgboost", ...))``
   (explicit requirements skip MLflow's ~5 s inference). Never pickle XGBoost. Keep the
   returned ``ModelInfo``.
6. After the ``with`` block exits without error: ``register_challenger("churn",
   info.model_uri)``. A run that raised is marked FAILED and never registered.
7. Evaluate the new version and the current champion on the same fresh out-of-time frame
   and call ``promotion.run_gate(...)``; it promotes or records why not.

Aliases (never stages): ``@challenger`` is the latest registered candidate, ``@champion``
is served, ``@previous`` is where a rollback would go. ``promote`` and ``rollback``
download, load and smoke-score their target first (``training.mlops.verify``) and move
nothing when it fails. ``rollback`` follows the champion history (``promoted_at`` tags),
not one alias: it goes to the most recent earlier champion that was not rolled back, is
not tagged ``serving.load_error`` (what the service could not load) and loads now; the
rolled-back version is tagged ``rolled_back=true``, so repeated rollbacks walk back
through the history and stop with a clear error when none is left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode

from training.mlops.tracking import model_name, registry_prints_quiet
from training.mlops.verify import LOAD_ERROR_TAG, UnusableVersionError, verify_version

__all__ = ["LOAD_ERROR_TAG", "UnusableVersionError", "promote", "rollback", "verify_version"]

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
GATE_TAGS = ("decision", "reason", "metric", "champion_score", "challenger_score")
ROLLED_BACK = "rolled_back"
MAX_TAG = 5000  # MLflow's limit on a tag value
Verifier = Callable[[str, str, MlflowClient], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _missing(exc: MlflowException) -> bool:
    return cast(bool, exc.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST))


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    """Alias -> version of a registered model; LookupError when it does not exist."""
    try:
        registered = client.get_registered_model(name)
    except MlflowException as exc:
        if _missing(exc):
            raise LookupError(f"registered model {name} does not exist") from exc
        raise
    return {alias: str(version) for alias, version in registered.aliases.items()}


def _version(client: MlflowClient, name: str, version: str | int) -> ModelVersion:
    """The model version; LookupError naming model and version when it does not exist."""
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if _missing(exc):
            raise LookupError(f"{name} version {version} does not exist") from exc
        raise


def register_challenger(
    model: str,
    model_uri: str,
    tags: dict[str, str] | None = None,
    client: MlflowClient | None = None,
) -> ModelVersion:
    """Register ``model_uri`` as a new version of ``cintel-<model>`` and point ``@challenger``.

    ``model_uri`` is ``ModelInfo.model_uri`` (``models:/<model_id>``) or ``runs:/<id>/model``.
    Registration goes through ``mlflow.register_model`` on the configured tracking URI (it
    resolves the model id a tracking server requires); ``client`` sets the alias.
    """
    client = client or MlflowClient()
    name = model_name(model)
    # mlflow.register_model resolves runs:/ and models:/<model_id> URIs (a server needs the id)
    with registry_prints_quiet():
        version = mlflow.register_model(model_uri, name, tags=tags)
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return client.get_model_version(name, version.version)


def alias_version(model: str, alias: str, client: MlflowClient | None = None) -> str | None:
    """The version ``alias`` points at, or None (also when the model is not registered)."""
    client = client or MlflowClient()
    try:
        return _aliases(client, model_name(model)).get(alias)
    except LookupError:
        return None


def champion_version(model: str, client: MlflowClient | None = None) -> str | None:
    """The ``@champion`` version, or None when there is none."""
    return alias_version(model, CHAMPION, client)


def promote(
    model: str,
    version: str | int,
    client: MlflowClient | None = None,
    verify: Verifier | None = verify_version,
) -> None:
    """Move ``@champion`` to ``version``; the old champion becomes ``@previous``.

    The version is downloaded, loaded and smoke-scored first (``verify``; None skips it):
    UnusableVersionError and nothing moved when it fails. Promoting the current champion
    is a no-op. ``@challenger`` is removed when it points at the promoted version (it is
    no longer a candidate); a ``rolled_back`` mark from an earlier rollback is cleared.
    """
    client = client or MlflowClient()
    name = model_name(model)
    aliases = _aliases(client, name)
    version = str(_version(client, name, version).version)
    old = aliases.get(CHAMPION)
    if old == version:
        return
    if verify is not None:
        verify(name, version, client)
    if old is not None:
        client.set_registered_model_alias(name, PREVIOUS, old)
        client.set_model_version_tag(name, old, "demoted_at", _now())
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "promoted_at", _now())
    if ROLLED_BACK in _version(client, name, version).tags:
        client.delete_model_version_tag(name, version, ROLLED_BACK)
    if aliases.get(CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)


def _when(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def rollback_candidates(model: str, client: MlflowClient | None = None) -> list[str]:
    """Earlier champions a rollback may go to, most recently promoted first: not the current
    champion, not rolled back, not tagged ``serving.load_error``."""
    client = client or MlflowClient()
    name = model_name(model)
    current = _aliases(client, name).get(CHAMPION)
    history = []
    for v in client.search_model_versions(f"name='{name}'"):
        tags = v.tags or {}
        if str(v.version) == current or "promoted_at" not in tags:
            continue
        if tags.get(ROLLED_BACK) == "true" or LOAD_ERROR_TAG in tags:
            continue
        history.append((_when(tags["promoted_at"]), int(v.version)))
    return [str(v) for _, v in sorted(history, reverse=True)]


def rollback(
    model: str, client: MlflowClient | None = None, verify: Verifier | None = verify_version
) -> str:
    """Move ``@champion`` back to the most recent earlier champion that loads; return it.

    Candidates come from ``rollback_candidates``; each is test-loaded (``verify``) and one
    that fails is tagged and passed over. The version rolled back from is tagged
    ``rolled_back=true``; ``@previous`` then names the next candidate (or is removed).
    LookupError, nothing moved, when no earlier champion loads.
    """
    client = client or MlflowClient()
    name = model_name(model)
    current = _aliases(client, name).get(CHAMPION)
    candidates = rollback_candidates(model, client)
    failed: list[str] = []
    target = None
    for candidate in candidates:
        try:
            if verify is not None:
                verify(name, candidate, client)
        except UnusableVersionError as exc:
            failed.append(f"version {candidate}: {exc}")
            continue
        target = candidate
        break
    if target is None:
        tried = f" (tried and failed: {'; '.join(failed)})" if failed else ""
        raise LookupError(
            f"{name} has no earlier champion to roll back to that loads{tried}; "
            "promote a version by hand with `cintel promote`"
        )
    client.set_registered_model_alias(name, CHAMPION, target)
    client.set_model_version_tag(name, target, "promoted_at", _now())
    if current is not None and current != target:
        client.set_model_version_tag(name, current, ROLLED_BACK, "true")
        client.set_model_version_tag(name, current, "rolled_back_at", _now())
    rest = rollback_candidates(model, client)
    if rest:
        client.set_registered_model_alias(name, PREVIOUS, rest[0])
    elif PREVIOUS in _aliases(client, name):
        client.delete_registered_model_alias(name, PREVIOUS)
    return target


def record_decision(
    model: str,
    version: str | int,
    decision: dict[str, str],
    client: MlflowClient | None = None,
) -> None:
    """Store a gate decision as ``gate.<key>`` tags on the version (plus ``gate.at``)."""
    client = client or MlflowClient()
    name = model_name(model)
    version = str(_version(client, name, version).version)
    for key, value in {**decision, "at": _now()}.items():
        client.set_model_version_tag(name, version, f"gate.{key}", value[:MAX_TAG])
