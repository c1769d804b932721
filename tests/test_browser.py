"""The three UIs as a person sees them: each page opened in headless chromium (Debian's, from
its command line), after its JavaScript ran, on a small real home, all on 127.0.0.1."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from scripts.screenshots import browse, build_home, chromium, running_uis


def _text(dom: str) -> str:
    """The visible text of a DOM dump: no styles or scripts, entities decoded, spaces joined."""
    dom = re.sub(r"<(style|script)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


@pytest.mark.slow
def test_each_ui_shows_what_its_user_needs(tmp_path: Path) -> None:
    if chromium() is None:
        pytest.skip("no chromium on PATH: apt-get install chromium chromium-driver (.ci/run does)")
    home = tmp_path / "home"
    build_home(home, customers=1500)
    with running_uis(home, tmp_path / "logs") as urls:
        evidently = _text(browse(urls.evidently))
        mlflow_dom = browse(urls.mlflow)
        api_dom = browse(urls.api)
    # ops: the workspace project's dashboard, with its panels drawn
    assert "cintel monitoring" in evidently
    assert "Share of drifted columns" in evidently
    assert "Retraining decisions" in evidently
    # the realised panel has points: its two series' legends are drawn (an empty panel
    # draws none); the home's publish met its matured outcomes in `cintel cycle`
    assert "realised_churn_roc_auc" in evidently and "performance_drop" in evidently
    # ML engineer: the registered model's page lists its version with the champion alias
    mlflow = _text(mlflow_dom)
    assert "cintel-churn" in mlflow and "Version 1" in mlflow
    assert re.search(r"Aliases .*@\s*champion", mlflow), mlflow[:2000]
    # channel developer: cintel's own API page, its document loaded and /profile listed
    api = _text(api_dom)
    assert "cintel customer intelligence API" in api
    assert "Failed to load API definition" not in api, api[:2000]
    assert 'data-path="/profile"' in api_dom and "/profiles" in api
