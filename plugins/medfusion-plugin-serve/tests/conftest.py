"""Fixtures: two tiny exported models of the demo data and their oracle predictions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from serve_models import build_artifacts, manifest_patients


def artifact_predictions(artifact: Path, manifest: Path) -> dict[str, dict[str, Any]]:
    """The oracle: the artifact's own predictor (the exporter kind's ``predictor`` for its
    suffix, found through the registry, as ``medfusion predict --model`` finds it) per patient."""
    from medfusion_core.registry import get_registry

    spec = get_registry().artifact_exporter(artifact)
    predictor = attrs.evolve(spec, factory=spec.info.predictor).load()
    return {row.pop("patient_id"): row for row in predictor(artifact, manifest)}


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``manifest``, ``patients`` (batch-request entries), ``artifacts`` (two seeds) and
    ``oracle`` (per artifact, patient id -> prediction columns)."""
    root = tmp_path_factory.mktemp("serve")
    manifest, artifacts = build_artifacts(root, (11, 12))
    return {
        "manifest": manifest,
        "patients": manifest_patients(manifest),
        "artifacts": artifacts,
        "oracle": [artifact_predictions(artifact, manifest) for artifact in artifacts],
    }
