"""pytest plugin (entry point ``pytest11``): fixtures for testing MedFusion plugins."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medfusion_core.discovery import ENV_CACHE_DIR
from medfusion_core.host import Host
from medfusion_core.testing.plugins import install_fake_distribution, isolated_host


@pytest.fixture(autouse=True, scope="session")
def _plugin_cache_in_session_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the discovery cache of a test session (fake distributions on temporary paths) out of
    the user's cache folder; subprocesses of the tests inherit the setting."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_CACHE_DIR, str(tmp_path_factory.mktemp("plugin-cache")))
        yield


@pytest.fixture
def medfusion_host() -> Iterator[Host]:
    """An isolated, current plugin host with autoload off: register plugins with
    ``medfusion_host.register(module, "medfusion-plugin-x")``."""
    with isolated_host() as host:
        yield host


@pytest.fixture
def fake_distribution(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Factory that installs fake plugin distributions on a temporary ``sys.path`` entry;
    the path and imported modules are removed after the test."""
    site = tmp_path / "site-packages"
    created: list[str] = []

    def install(name: str, **kwargs: object) -> Path:
        module_file = install_fake_distribution(site, name, **kwargs)  # type: ignore[arg-type]
        created.append(module_file.stem)
        importlib.invalidate_caches()
        return module_file

    yield install
    if str(site) in sys.path:
        sys.path.remove(str(site))
    for module in created:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()
