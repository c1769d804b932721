"""``build_bento`` packages the champions: the built Bento holds every champion's bundle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from serving.follower import PACKAGED_DIR
from training.data.contract import CleanData

REPO = Path(__file__).resolve().parents[2]
BUILD = (
    "from serving.batch.bento import build_bento; "
    "from serving.settings import get_service_settings; "
    "print('TAG', build_bento(get_service_settings()))"
)


@pytest.mark.slow
def test_build_bento_contains_the_champions(
    trained_home: tuple[Path, CleanData], tmp_path: Path
) -> None:
    home, _ = trained_home
    env = {
        **os.environ,
        "CINTEL_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", BUILD], cwd=REPO, env=env, capture_output=True, text=True
        )
    finally:  # the copied champions are build input only; leave the checkout as it was
        shutil.rmtree(PACKAGED_DIR, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    tag = done.stdout.split("TAG ")[-1].strip()
    name, version = tag.split(":")
    src = tmp_path / "bentoml" / "bentos" / name / version / "src"
    assert (src / "serving" / "service.py").exists()
    assert (src / "serving" / "offers.yaml").exists()
    assert (src / "training" / "churn" / "model.py").exists()
    status = json.loads((home / "store" / "meta.json").read_text())["versions"]
    for model in ("churn", "propensity", "segments", "clv"):
        packaged = src / "serving" / "champions" / model
        current = (packaged / "current").read_text().strip()
        assert current == status[model]
        assert (packaged / current / "ready").exists()
        assert list((packaged / current).rglob("manifest.json")), model
