"""`medfusion install NAME`: resolves in the catalogue, runs the installer with this Python, lists it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from medfusion_core.catalogue import CatalogueEntry, CatalogueError, render_catalogue
from medfusion_core.commands import install
from medfusion_core.testing import install_fake_distribution

PLUGIN_SOURCE = """
from medfusion_core import ComponentSpec, hookimpl

@hookimpl
def medfusion_register_fusions():
    return [ComponentSpec("tiny_sum", "fusion", "medfusion_plugin_tiny:Sum", "sum")]
"""


@pytest.fixture
def catalogue(tmp_path, monkeypatch) -> Path:
    """A catalogue with one installable plugin (local source) and one example entry."""
    common = {
        "summary": "s",
        "homepage": "https://example.org",
        "core": ">=0.1,<0.2",
        "components": {"fusion": ["tiny_sum"]},
        "origin": "third-party",
    }
    entries = [
        CatalogueEntry(
            name="medfusion-plugin-tiny",
            version="1.0.0",
            entry_point="medfusion_plugin_tiny",
            source="./wheels/medfusion_plugin_tiny-1.0.0-py3-none-any.whl",
            **common,
        ),
        CatalogueEntry(
            name="medfusion-plugin-example-x",
            version="0.1.0",
            entry_point="x",
            **{**common, "origin": "example"},
        ),
    ]
    path = tmp_path / "registry.json"
    path.write_text(render_catalogue(entries))
    monkeypatch.setenv("MEDFUSION_CATALOGUE", str(path))
    monkeypatch.setattr("medfusion_core.catalogue.has_pip", lambda: True)
    return path


def test_installs_the_source_with_this_python(catalogue):
    calls: list[list[str]] = []

    def runner(args: Sequence[str]) -> int:
        calls.append(list(args))
        return 0

    entry = install.install_plugin("tiny", runner=runner)
    assert entry.name == "medfusion-plugin-tiny"
    wheel = str(catalogue.parent / "wheels" / "medfusion_plugin_tiny-1.0.0-py3-none-any.whl")
    assert calls == [[sys.executable, "-m", "pip", "install", wheel]]
    install.install_plugin("medfusion_plugin_tiny", upgrade=True, runner=runner)
    assert calls[-1] == [sys.executable, "-m", "pip", "install", "--upgrade", wheel]


def test_unknown_name_suggests_close_ones(catalogue):
    with pytest.raises(CatalogueError, match="did you mean medfusion-plugin-tiny"):
        install.install_plugin("tinny", runner=lambda args: pytest.fail("must not run"))


def test_example_entries_are_not_installed(catalogue):
    with pytest.raises(CatalogueError, match="illustrative"):
        install.install_plugin("example-x", runner=lambda args: pytest.fail("must not run"))


def test_installer_failure_is_reported(catalogue):
    with pytest.raises(install.InstallError, match=r"tiny failed \(exit code 3\)"):
        install.install_plugin("tiny", runner=lambda args: 3)


def test_command_installs_then_lists_the_plugin(catalogue, tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("MEDFUSION_PLUGINS", "medfusion-plugin-tiny")
    monkeypatch.delenv("MEDFUSION_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    ran: list[list[str]] = []

    def fake_installer(args: Sequence[str]) -> int:
        ran.append(list(args))
        install_fake_distribution(
            site, "medfusion-plugin-tiny", module_source=PLUGIN_SOURCE, requires=["medfusion-core>=0.1,<0.2"]
        )
        return 0

    monkeypatch.setattr(install, "_run", fake_installer)
    try:
        result = CliRunner().invoke(install.command, ["tiny"])
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("medfusion_plugin_tiny", None)
    assert result.exit_code == 0, result.output
    assert ran and ran[0][:4] == [sys.executable, "-m", "pip", "install"]
    assert "medfusion-plugin-tiny 1.0.0: ok (fusion: tiny_sum)" in result.output
