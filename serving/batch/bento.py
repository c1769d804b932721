"""Build a Bento that carries the current champions, so it serves without reaching MLflow.

BentoML packages only files ``bentofile.yaml`` includes; models the service loads from
MLflow at run time are not in the Bento. ``build_bento`` therefore resolves every
``@champion`` through the service's own ``ModelManager`` (download into the model cache,
load, smoke test), copies those cache folders into ``serving/champions/<model>/<version>/``
(git-ignored, same layout as the cache, with its ``current`` pointers) and runs
``bentoml build``. At start the packaged service loads a model from its local cache or,
when that is empty, from ``serving/champions/``; then it follows MLflow's ``@champion``
as usual when a registry is reachable.

    from serving.batch.bento import build_bento
    from serving.settings import get_service_settings
    build_bento(get_service_settings())  # -> "cintel:<version>"
"""

from __future__ import annotations

import shutil
from pathlib import Path

from serving.follower import PACKAGED_DIR, load_all_champions
from serving.prospects import MODEL as PROSPECT
from serving.scoring import smoke_test
from serving.settings import ServiceSettings
from training.tasks import MODELS

REPO = Path(__file__).resolve().parents[2]


def package_champions(settings: ServiceSettings, target: Path = PACKAGED_DIR) -> dict[str, str]:
    """Copy every champion's cached bundle into ``target``; returns model -> version. The
    required models' and, when it has one, the prospect model's (``POST /prospect`` is
    answered by the service itself; the other optional models feed materialize)."""
    models = (*MODELS, PROSPECT)
    manager = load_all_champions(
        settings.model_cache_dir, settings.tracking_uri, smoke_test, models
    )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for model, version in manager.current.versions.items():
        shutil.copytree(settings.model_cache_dir / model / version, staging / model / version)
        (staging / model / "current").write_text(version)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return dict(manager.current.versions)


def build_bento(settings: ServiceSettings, bentofile: Path = REPO / "bentofile.yaml") -> str:
    """Package the champions and run ``bentoml build``; returns the Bento tag."""
    import bentoml

    versions = package_champions(settings)
    labels = {f"{model}_version": version for model, version in versions.items()}
    bento = bentoml.bentos.build_bentofile(str(bentofile), build_ctx=str(REPO), labels=labels)
    return str(bento.tag)
