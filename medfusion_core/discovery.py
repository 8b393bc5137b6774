"""The installed plugins' entry points, read from distribution metadata once and then cached.

Reading every distribution's metadata (``importlib.metadata``, its e-mail header parser and
``packaging``'s requirement grammar) is most of what a bare ``medfusion`` start costs, and the
answer changes only when something is installed or removed. :func:`plugin_entries` therefore keeps
it in a JSON file per interpreter and search path (``sys.prefix`` and ``sys.path``: a console
script and ``python -m`` in another folder see different paths), valid while the *fingerprint* is
unchanged: the ``sys.path``
entries and, for every ``*.dist-info`` / ``*.egg-info`` folder in them, its name and the
modification times of the folder and of its ``entry_points.txt`` and ``METADATA``. Installers
create those files anew, so any install, upgrade or removal changes it. A missing, stale or
unreadable cache is rebuilt from the metadata; a cache that cannot be written is simply not kept.

``MEDFUSION_PLUGIN_CACHE=0`` turns the cache off; ``MEDFUSION_CACHE_DIR`` moves it (default
``$XDG_CACHE_HOME/medfusion`` or ``~/.cache/medfusion``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import attrs

from medfusion_core import __version__ as CORE_VERSION

ENTRY_POINT_GROUP = "medfusion.plugins"
CORE_DISTRIBUTION = "medfusion-core"
ENV_CACHE = "MEDFUSION_PLUGIN_CACHE"
ENV_CACHE_DIR = "MEDFUSION_CACHE_DIR"
#: Bumped whenever the cached record's shape changes.
CACHE_FORMAT = 1
_METADATA_SUFFIXES = (".dist-info", ".egg-info")
_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """A distribution name normalised as package indexes do (PEP 503): ``Foo_Bar`` → ``foo-bar``."""
    return _SEPARATORS.sub("-", name).lower()


@attrs.frozen
class PluginEntry:
    """One ``medfusion.plugins`` entry point and what its distribution's metadata says.

    ``core_range`` is the specifier of the distribution's ``medfusion-core`` requirement (``None``
    when it declares none); ``compatible`` whether that range admits the running core.
    """

    name: str
    value: str
    version: str
    core_range: str | None
    compatible: bool

    def load(self) -> object:
        """Import the entry point's module and return the object it names (``module:attr``)."""
        return resolve_entry_point(self.value)


def resolve_entry_point(value: str) -> object:
    """The object an entry-point value names: ``module`` or ``module:attr.path`` (extras ignored)."""
    module_name, _, attribute = value.partition(":")
    target: object = importlib.import_module(module_name.strip())
    for part in attribute.split("[")[0].strip().split("."):
        if part:
            target = getattr(target, part)
    return target


def plugin_entries() -> list[PluginEntry]:
    """Every installed distribution's ``medfusion.plugins`` entry points, from the cache when valid."""
    if os.environ.get(ENV_CACHE, "1") == "0":
        return _read_metadata()
    fingerprint = metadata_fingerprint()
    path = cache_path()
    cached = _read_cache(path, fingerprint)
    if cached is not None:
        return cached
    entries = _read_metadata()
    _write_cache(path, fingerprint, entries)
    return entries


def metadata_fingerprint() -> str:
    """A digest of ``sys.path`` and of every metadata folder on it (names and modification times)."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{CORE_VERSION}\0{sys.executable}".encode())
    for entry in sys.path:
        digest.update(f"\0path\0{entry}".encode())
        try:
            children = sorted(os.scandir(entry or "."), key=lambda child: child.name)
        except OSError:
            continue
        for child in children:
            if not child.name.endswith(_METADATA_SUFFIXES):
                continue
            digest.update(f"\0{child.name}\0{_mtime(child.path)}".encode())
            for inner in ("entry_points.txt", "METADATA", "PKG-INFO"):
                digest.update(f"\0{_mtime(os.path.join(child.path, inner))}".encode())
    return digest.hexdigest()


def cache_path() -> Path:
    """The cache file of this interpreter and search path."""
    root = os.environ.get(ENV_CACHE_DIR) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "medfusion"
    )
    key = hashlib.sha256("\0".join([sys.prefix, *sys.path]).encode()).hexdigest()[:20]
    return Path(root) / f"plugins-{key}.json"


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _read_cache(path: Path, fingerprint: str) -> list[PluginEntry] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
            return None
        return [PluginEntry(**item) for item in data["entries"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_cache(path: Path, fingerprint: str, entries: list[PluginEntry]) -> None:
    from medfusion_core.runs.io import atomic_write  # only when the cache is rebuilt

    payload = json.dumps({"fingerprint": fingerprint, "entries": [attrs.asdict(e) for e in entries]})
    with contextlib.suppress(OSError):  # a read-only home: discovery still works, only uncached
        atomic_write(path, lambda handle: handle.write(payload), binary=False)


def _read_metadata() -> list[PluginEntry]:
    """The entry points straight from ``importlib.metadata`` (what the cache stores)."""
    import importlib.metadata as md

    from packaging.version import Version

    core = Version(CORE_VERSION)
    entries = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        specifier = _core_specifier(dist.requires or []) if dist is not None else None
        entries.append(
            PluginEntry(
                name=canonical_name(dist.name if dist is not None else ep.name),
                value=ep.value,
                version=dist.version if dist is not None else "unknown",
                core_range=None if specifier is None else str(specifier),
                compatible=specifier is None or specifier.contains(core, prereleases=True),
            )
        )
    return entries


def _core_specifier(requires: list[str]) -> Any:
    """The ``SpecifierSet`` of the unconditional ``medfusion-core`` requirement, if any."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonical_name(req.name) != CORE_DISTRIBUTION:
            continue
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            return req.specifier
    return None
