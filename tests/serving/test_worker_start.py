"""What a service worker costs to start: nothing it does not need before its first answer,
and BentoML's per-request access log and tracing as the settings say."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.serving.conftest import known_id

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CINTEL_", "BENTOML_C"))}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_service_module_imports_no_mlflow_scikit_learn_or_xgboost() -> None:
    """A restarted worker answers from the store before these (seconds to import) load."""
    code = (
        "import sys, serving.service\n"
        "print(sorted(m for m in ('mlflow', 'sklearn', 'xgboost', 'scipy') if m in sys.modules))"
    )
    assert _python(code) == "[]"


CONFIG = """
import json, os
from serving.cli import _bentoml_overrides
from serving.settings import ServiceSettings
os.environ["BENTOML_CONFIG_OVERRIDES"] = _bentoml_overrides(dict(os.environ), ServiceSettings())
from _bentoml_impl.loader import load
from bentoml._internal.configuration.containers import BentoMLContainer
load("serving.service:Cintel", standalone_load=True).inject_config()  # as the worker does
print(json.dumps({
    "access_log": BentoMLContainer.api_server_config.logging.access.enabled.get(),
    "traced": not BentoMLContainer.tracing_excluded_urls.get().url_disabled(
        "http://127.0.0.1:3000/profile"
    ),
    "workers": BentoMLContainer.config.services["cintel"].workers.get(),
}))
"""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"access_log": False, "traced": False, "workers": 2}),
        (
            {"CINTEL_ACCESS_LOG": "on", "CINTEL_TRACING": "on", "CINTEL_WORKERS": "3"},
            {"access_log": True, "traced": True, "workers": 3},
        ),
    ],
)
def test_bentoml_access_log_and_tracing_follow_the_settings(
    env: dict[str, str], expected: dict[str, object]
) -> None:
    assert json.loads(_python(CONFIG, **env)) == expected


def _held_model_load(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make the service's model load wait for the returned event (a slow import)."""
    from serving.follower import ModelManager

    release = threading.Event()
    original = ModelManager.load_cache

    def held(self: ModelManager) -> None:
        release.wait(20)
        original(self)

    monkeypatch.setattr(ModelManager, "load_cache", held)
    return release


def test_profile_answers_from_the_store_while_the_models_load(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.schemas import ProfileRequest
    from serving.service import Cintel

    release = _held_model_load(monkeypatch)
    started = time.monotonic()
    service = Cintel.inner()  # type: ignore[attr-defined]  # BentoML: the class behind
    try:
        assert time.monotonic() - started < 15  # the constructor does not wait for them
        assert not service.__is_ready__()  # /readyz: 503 until they are loaded
        answer = asyncio.run(service.profile(ProfileRequest(customer_id=known_id(service_env))))
        assert answer.status_code == 200
        store_meta = json.loads((service_env / "store" / "meta.json").read_text())
        assert json.loads(answer.body)["model_versions"] == store_meta["versions"]
    finally:
        release.set()
    assert service.models_loaded.wait(60)
    assert service.__is_ready__()


def test_profile_waits_for_the_models_when_the_store_is_not_theirs(
    service_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving.schemas import ProfileRequest
    from serving.service import Cintel

    release = _held_model_load(monkeypatch)
    service = Cintel.inner()  # type: ignore[attr-defined]  # BentoML: the class behind
    # as if the cache held another churn version than the one the store was scored with
    service.cached_versions = {**service.cached_versions, "churn": "999"}
    threading.Timer(1.0, release.set).start()
    started = time.monotonic()
    answer = asyncio.run(service.profile(ProfileRequest(customer_id=known_id(service_env))))
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.9  # answered once the models were loaded
    assert service.models_loaded.is_set()
