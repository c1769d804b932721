"""A saved model's manifest: ``manifest.json`` with its kind and schema version.

Every model bundle (churn, propensity, segments, clv) is this file plus native files
(XGBoost ``.ubj``); nothing is pickled. One reader checks kind and version for all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


def write_manifest(folder: Path, manifest: dict[str, Any], indent: int = 2) -> Path:
    """Write ``folder/manifest.json`` as strict JSON (NaN is refused, not written)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=indent, allow_nan=False))
    return path


def read_manifest(folder: Path, kind: str, schema_version: int) -> dict[str, Any]:
    """The manifest of ``folder``; ValueError when it is another kind or version."""
    manifest: dict[str, Any] = json.loads((Path(folder) / MANIFEST_FILE).read_text())
    if manifest.get("kind") != kind or manifest.get("schema_version") != schema_version:
        raise ValueError(
            f"{folder}: not a {kind} v{schema_version} model "
            f"(kind={manifest.get('kind')!r}, version={manifest.get('schema_version')!r})"
        )
    return manifest
