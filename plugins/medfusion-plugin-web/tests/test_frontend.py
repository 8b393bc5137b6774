"""The frontend's own checks, started from pytest: ``npm ci`` when ``node_modules`` is missing,
``tsc --noEmit`` (strict), eslint, the Vitest component tests, and a fresh build that must equal
the built app committed in the package (so the wheel never ships stale assets)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from medfusion_plugin_web import ASSETS
from medfusion_plugin_web.frontend import build, ensure_node_modules, run_npm


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    """The lockfile's packages, installed once."""
    ensure_node_modules()


def test_typescript_strict_typecheck_passes():
    run_npm("run", "typecheck")


def test_eslint_passes():
    run_npm("run", "lint")


def test_vitest_component_tests_pass():
    result = run_npm("run", "test")
    assert "failed" not in result.stdout.lower(), result.stdout[-3000:]
    assert " passed" in result.stdout, result.stdout[-3000:]


def _tree(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_committed_build_matches_the_sources(tmp_path):
    fresh = build(tmp_path / "dist")
    committed = Path(ASSETS)
    assert _tree(fresh) == _tree(committed), (
        "medfusion_plugin_web/static is stale: run `npm run build` in plugins/medfusion-plugin-web/frontend"
    )
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, sorted(_tree(fresh)), shallow=False)
    assert not mismatch and not errors, f"differ from a fresh build: {mismatch + errors}; run `npm run build`"
