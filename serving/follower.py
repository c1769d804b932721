"""Follow the ``@champion`` of every model: local cache, atomic swap, last good kept.

At start the service loads what the local cache holds (so a registry outage never keeps
it down), or, for a model the cache lacks, the champion packaged into the Bento
(``serving/champions/``, see ``serving.batch.bento``), then refreshes from MLflow. A new
version is swapped in only after it downloads, loads and passes a smoke prediction, first
in a child process (a corrupt XGBoost file can crash the loading process) and then here;
a broken version or an unreachable registry leaves the last good models serving and
increments a failure counter. A version that fails to load is tagged
``serving.load_error`` in the registry with the reason (so neither the gate nor a rollback
selects it again), and a champion tagged so is not downloaded or tried again (a ``cintel
promote`` that test-loads it clears the tag). A listener (the service's Prometheus
metrics) hears every swap and failure. Every registered model's champion is followed; the models
trained by default (``training.tasks.MODELS``) are required, the others (cintel-uplift,
trained from the decision log) are used when they exist. A model that scores people
without a history (cintel-prospect, ``Task.store`` false) is followed by a manager of its
own (``serving.prospects``), so it never enters the store's answers.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from training.mlops.verify import LOAD_ERROR_TAG, check_isolated, mark_unusable
from training.tasks import MODELS, STORE_MODELS, FittedModel, load_bundle

ALIAS = "champion"
SERVED_TAG = "serving.served_at"


class Listener(Protocol):
    """Told about every model swapped in and every version that failed to load."""

    def loaded(self, model: str, version: str) -> None: ...

    def failed(self, model: str, version: str | None, reason: str) -> None: ...


class _Quiet:
    def loaded(self, model: str, version: str) -> None:
        return None

    def failed(self, model: str, version: str | None, reason: str) -> None:
        return None


class KnownBadError(Exception):
    """The champion is tagged ``serving.load_error``: not downloaded, not loaded."""


# champions copied in by serving.batch.bento.build_bento; same layout as the cache
PACKAGED_DIR = Path(__file__).resolve().parent / "champions"


@dataclass(frozen=True)
class ModelSet:
    """An immutable set of loaded scorers and their versions; swapped as a whole."""

    scorers: dict[str, FittedModel] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    def with_model(
        self, model: str, version: str, scorer: FittedModel, columns: list[str]
    ) -> ModelSet:
        return ModelSet(
            {**self.scorers, model: scorer},
            {**self.versions, model: version},
            {**self.columns, model: columns},
        )

    @property
    def input_columns(self) -> list[str]:
        """Every input column any loaded model takes, in first-seen order."""
        return list(dict.fromkeys(c for cols in self.columns.values() for c in cols))


def _fetch_champion(
    model: str, cache: Path, tracking_uri: str, skip: str | None = None
) -> tuple[str, Path] | None:
    """Resolve ``cintel-<model>@champion`` and download it into the cache if new.

    KnownBadError (nothing downloaded) when the version is tagged ``serving.load_error``;
    ``skip`` (a version this process already holds or gave up on) is not downloaded."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        found = client.get_model_version_by_alias(f"cintel-{model}", ALIAS)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            return None
        raise
    version = str(found.version)
    target = cache / model / version
    if version == skip:
        return version, target
    if LOAD_ERROR_TAG in (found.tags or {}):
        raise KnownBadError(f"{LOAD_ERROR_TAG}: {found.tags[LOAD_ERROR_TAG]}")
    if not (target / "ready").exists():
        # one folder per process: the service's workers share the cache and may download
        # the same version at once; the first complete copy wins, the others are dropped
        tmp = cache / model / f".{version}.{os.getpid()}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/cintel-{model}/{version}", dst_path=str(tmp)
        )
        (tmp / "ready").write_text(version)
        try:
            tmp.rename(target)  # atomic; fails when the target exists and is not empty
        except OSError:
            if not (target / "ready").exists():  # an incomplete copy of an older cintel
                shutil.rmtree(target, ignore_errors=True)
                tmp.rename(target)
            else:  # another worker finished first (and may be loading it): keep that one
                shutil.rmtree(tmp, ignore_errors=True)
    return version, target


def _write_pointer(path: Path, version: str) -> None:
    """Replace ``path`` atomically: a worker starting meanwhile never reads it half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(version)
    os.replace(tmp, path)


def _tag(tracking_uri: str, model: str, version: str, key: str, value: str) -> None:
    """Best-effort version tag (the registry may be down: serving does not depend on it)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    if key == LOAD_ERROR_TAG:
        mark_unusable(f"cintel-{model}", version, value, client)
        return
    try:
        client.set_model_version_tag(f"cintel-{model}", version, key, value)
    except Exception:  # the registry is down: the swap stands, the tag is informative
        return


def _bundle_dir(folder: Path) -> Path:
    found = sorted(p.parent for p in folder.rglob("manifest.json"))
    if not found:
        raise FileNotFoundError(f"{folder}: no manifest.json in the downloaded model")
    return found[0]


def _cached(cache: Path, model: str) -> tuple[str, Path] | None:
    """The newest complete version in the local cache, per the ``current`` pointer."""
    pointer = cache / model / "current"
    if not pointer.exists():
        return None
    version = pointer.read_text().strip()
    folder = cache / model / version
    return (version, folder) if (folder / "ready").exists() else None


def load_all_champions(
    cache: Path,
    tracking_uri: str,
    smoke: Callable[[str, FittedModel, Path], list[str]],
    models: tuple[str, ...] = MODELS,
) -> ModelManager:
    """A manager holding the @champion of ``models`` (those of ``MODELS`` required, the
    others when registered); LookupError naming a required one that is missing."""
    manager = ModelManager(cache, tracking_uri, smoke, models=models)
    manager.refresh()
    missing = [m for m in MODELS if m not in manager.current.scorers]
    if missing:
        detail = f" (last error: {manager.last_error})" if manager.last_error else ""
        raise LookupError(
            f"no usable @champion for {', '.join(missing)}{detail}; run `cintel train` first"
        )
    return manager


class ModelManager:
    """Holds the current ModelSet; ``refresh()`` polls MLflow, ``start()`` keeps polling."""

    def __init__(
        self,
        cache: Path,
        tracking_uri: str,
        smoke: Callable[[str, FittedModel, Path], list[str]],
        models: tuple[str, ...] = STORE_MODELS,
        packaged: Path | None = None,
        listener: Listener | None = None,
        isolate: bool = True,
        tag_served: bool = False,
        required: tuple[str, ...] = MODELS,
    ) -> None:
        self.cache = cache
        self.packaged = packaged
        self.tracking_uri = tracking_uri
        self.smoke = smoke
        self.models = models
        self.listener: Listener = listener or _Quiet()
        self.isolate = isolate  # test-load new versions in a child process first
        self.tag_served = tag_served  # the service tags serving.served_at on each swap
        self.required = tuple(m for m in required if m in models)
        self.current = ModelSet()
        self.failures = 0
        self.last_error: str | None = None
        self.load_failures: dict[str, int] = dict.fromkeys(models, 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return all(m in self.current.scorers for m in self.required)

    def _try_load(
        self, model: str, version: str, folder: Path
    ) -> tuple[FittedModel, list[str]] | None:
        try:
            scorer = load_bundle(_bundle_dir(folder))
            return scorer, self.smoke(model, scorer, folder)
        except Exception as exc:  # a broken artifact must never replace a good model
            self._failed(model, version, f"{type(exc).__name__}: {exc}")
            return None

    def _failed(self, model: str, version: str | None, reason: str) -> None:
        self.failures += 1
        self.last_error = f"{model} v{version}: {reason}"
        if version is not None:
            self.load_failures[model] = self.load_failures.get(model, 0) + 1
        self.listener.failed(model, version, reason)

    def cached_versions(self) -> dict[str, str]:
        """The version of each model that ``load_cache`` would load, from the cache's
        pointers (or the packaged folder's), without loading or importing anything."""
        out: dict[str, str] = {}
        for model in self.models:
            found = _cached(self.cache, model)
            if found is None and self.packaged is not None:
                found = _cached(self.packaged, model)
            if found is not None:
                out[model] = found[0]
        return out

    def load_cache(self) -> None:
        """Load whatever the local cache holds (used at start, before MLflow answers); a
        model missing from the cache comes from the ``packaged`` folder when it has one."""
        for model in self.models:
            found = _cached(self.cache, model)
            if found is None and self.packaged is not None:
                found = _cached(self.packaged, model)
            if found and model not in self.current.scorers:
                loaded = self._try_load(model, *found)
                if loaded is not None:
                    with self._lock:
                        self.current = self.current.with_model(model, found[0], *loaded)
                    self.listener.loaded(model, found[0])

    def refresh(self) -> dict[str, str]:
        """Poll every alias once; returns the models that changed version."""
        new: list[tuple[str, str, Path]] = []
        for model in self.models:
            held = self.current.versions.get(model)
            try:
                found = _fetch_champion(model, self.cache, self.tracking_uri, held)
            except KnownBadError as exc:  # tagged by another process: keep the last good
                self.last_error = f"{model} @champion: {exc}"
                continue
            except Exception as exc:  # registry down: keep serving the last good set
                self.failures += 1
                self.last_error = f"{model}: registry unreachable: {type(exc).__name__}: {exc}"
                continue
            if found is None or held == found[0]:
                continue
            new.append((model, *found))
        # one child process test-loads every new version before this process opens any
        errors = check_isolated([(m, folder) for m, _, folder in new]) if self.isolate else {}
        changed: dict[str, str] = {}
        for model, version, folder in new:
            error = errors.get(model)
            if error is not None:
                self._failed(model, version, error)
            loaded = None if error is not None else self._try_load(model, version, folder)
            if loaded is None:
                _tag(self.tracking_uri, model, version, LOAD_ERROR_TAG, self.last_error or "")
                continue
            with self._lock:
                self.current = self.current.with_model(model, version, *loaded)
            _write_pointer(self.cache / model / "current", version)
            changed[model] = version
            self.listener.loaded(model, version)
            if self.tag_served:
                _tag(self.tracking_uri, model, version, SERVED_TAG, f"{time.time():.0f}")
        return changed

    def start(self, interval: float) -> None:
        """Poll in a daemon thread every ``interval`` seconds (0 disables polling)."""
        if interval <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="cintel-model-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def status(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "versions": dict(self.current.versions),
            "failures": self.failures,
            "load_failures": dict(self.load_failures),
            "last_error": self.last_error,
            "checked_at": time.time(),
        }
