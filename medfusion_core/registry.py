"""Lazy component catalogue: resolves ``name`` or ``plugin:name`` to a spec and imports it on use.

Nothing is imported while listing; :meth:`ComponentRegistry.load` imports a factory the first
time a config asks for it. Names are exact (``resnet18``) or families (``resnet*``), whose
factory receives the concrete name.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable
from typing import Any

from medfusion_core.errors import AmbiguousComponentError, ComponentNotFoundError
from medfusion_core.specs import KINDS, ComponentSpec


class ComponentRegistry:
    """Index of component specs by kind and name."""

    def __init__(self, specs: Iterable[ComponentSpec]) -> None:
        self._by_kind: dict[str, dict[str, list[ComponentSpec]]] = {kind: {} for kind in KINDS}
        for spec in specs:
            self._by_kind[spec.kind].setdefault(spec.name, []).append(spec)

    def specs(self, kind: str) -> list[ComponentSpec]:
        """Every spec of ``kind``, sorted by name then plugin."""
        return sorted(
            (spec for group in self._by_kind[kind].values() for spec in group),
            key=lambda s: (s.name, s.plugin),
        )

    def names(self, kind: str, pattern: str | None = None) -> list[str]:
        """Registered names of ``kind`` (families keep their ``*``), filtered by a glob."""
        names = sorted(self._by_kind[kind])
        if pattern:
            names = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
        return names

    def conflicts(self) -> list[tuple[str, str, list[str]]]:
        """``(kind, name, plugins)`` for every name registered by more than one plugin."""
        return [
            (kind, name, sorted(spec.plugin for spec in group))
            for kind, by_name in self._by_kind.items()
            for name, group in sorted(by_name.items())
            if len(group) > 1
        ]

    def resolve(self, kind: str, name: str) -> ComponentSpec:
        """The spec for ``name`` or ``plugin:name``; raises a helpful error when there is none
        or when several plugins offer it."""
        plugin, sep, bare = name.rpartition(":")
        candidates = self._candidates(kind, bare)
        if sep:
            from packaging.utils import canonicalize_name

            wanted = canonicalize_name(plugin)
            candidates = [spec for spec in candidates if spec.plugin == wanted]
        if not candidates:
            raise ComponentNotFoundError(self._unknown_message(kind, name))
        if len(candidates) > 1:
            plugins = ", ".join(sorted(spec.plugin for spec in candidates))
            raise AmbiguousComponentError(
                f"{kind} {bare!r} is registered by several plugins ({plugins}); "
                f"write it as '<plugin>:{bare}', e.g. '{candidates[0].plugin}:{bare}'"
            )
        return candidates[0]

    def _candidates(self, kind: str, name: str) -> list[ComponentSpec]:
        by_name = self._by_kind[kind]
        if name in by_name:
            return list(by_name[name])
        families = [
            spec
            for pattern, group in by_name.items()
            if pattern.endswith("*") and fnmatch.fnmatchcase(name, pattern)
            for spec in group
        ]
        if not families:
            return []
        longest = max(len(spec.name) for spec in families)
        return [spec for spec in families if len(spec.name) == longest]

    def _unknown_message(self, kind: str, name: str) -> str:
        installed = self.names(kind)
        if not installed:
            return (
                f"unknown {kind} {name!r}: no {kind} is installed; see 'medfusion list-plugins --available'"
            )
        close = difflib.get_close_matches(name.rpartition(":")[2], installed, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        shown = ", ".join(installed[:30]) + (" ..." if len(installed) > 30 else "")
        return f"unknown {kind} {name!r}; {hint}installed {kind}s: {shown}"

    def load(self, kind: str, name: str) -> Any:
        """Import and return the factory for ``name``."""
        return self.resolve(kind, name).load()

    def create(self, kind: str, name: str, *args: Any, **params: Any) -> Any:
        """Build a component: ``factory(*args, **params)``; family factories also get ``name``."""
        spec = self.resolve(kind, name)
        factory = spec.load()
        if spec.is_pattern:
            return factory(name.rpartition(":")[2], *args, **params)
        return factory(*args, **params)


_registry: ComponentRegistry | None = None


def get_registry() -> ComponentRegistry:
    """The registry of the process-wide plugin host (built once, reset by ``set_host``)."""
    global _registry
    if _registry is None:
        from medfusion_core.plugins import get_host

        _registry = ComponentRegistry(get_host().specs())
    return _registry


def reset_registry() -> None:
    """Forget the cached registry so that it is rebuilt from the current host."""
    global _registry
    _registry = None
