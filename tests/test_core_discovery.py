"""Plugin discovery's metadata cache: same answer as the metadata, invalidated by any install."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from medfusion_core import __version__
from medfusion_core.discovery import ENV_CACHE, ENV_CACHE_DIR, cache_path, plugin_entries
from medfusion_core.testing import isolated_host


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV_CACHE_DIR, str(folder))
    monkeypatch.delenv(ENV_CACHE, raising=False)
    return folder


def _uncached(monkeypatch: pytest.MonkeyPatch) -> list:
    with monkeypatch.context() as patch:
        patch.setenv(ENV_CACHE, "0")
        return plugin_entries()


def test_cached_entries_equal_the_metadata(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = plugin_entries()
    assert cache_path().is_relative_to(cache_dir) and cache_path().exists()
    assert plugin_entries() == first == _uncached(monkeypatch)
    assert any(entry.name == "medfusion-plugin-fusion" for entry in first)


def test_an_install_invalidates_the_cache(cache_dir: Path, fake_distribution: Callable[..., Path]) -> None:
    before = {entry.name for entry in plugin_entries()}
    fake_distribution("mf-late-plugin", requires=["medfusion-core>=99"])
    entries = {entry.name: entry for entry in plugin_entries()}
    assert set(entries) == before | {"mf-late-plugin"}
    late = entries["mf-late-plugin"]
    assert (late.core_range, late.compatible, late.version) == (">=99", False, "1.0.0")
    with isolated_host(autoload=True) as host:
        record = host.record("mf-late-plugin")
        assert record is not None and record.status == "incompatible" and __version__ in record.error


def test_a_corrupt_or_foreign_cache_is_rebuilt(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _uncached(monkeypatch)
    path = cache_path()
    path.parent.mkdir(parents=True)
    for content in ("{not json", json.dumps({"fingerprint": "other", "entries": []}), "[]"):
        path.write_text(content)
        assert plugin_entries() == expected
        assert json.loads(path.read_text())["entries"]


def test_the_cache_can_be_turned_off(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _uncached(monkeypatch)
    assert not cache_path().exists()


def test_an_entry_loads_its_object(cache_dir: Path, fake_distribution: Callable[..., Path]) -> None:
    fake_distribution("mf-loadable", module_source="VALUE = 42\n")
    entry = next(e for e in plugin_entries() if e.name == "mf-loadable")
    assert entry.load().VALUE == 42
