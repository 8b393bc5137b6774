"""Lazy component catalogue: every lookup of a component, reader, exporter, command or kernel.

Nothing is imported while listing; :meth:`ComponentRegistry.load` imports a factory the first
time a config asks for it. Names are exact (``resnet18``) or families (``resnet*``), whose
factory receives the concrete name. Two plugins offering the same name, reader suffix or export
format is an :class:`~medfusion_core.errors.AmbiguousComponentError` naming both, answered by
writing ``plugin:name``. The current host's registry is :func:`medfusion_core.registry.get_registry`.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from medfusion_core import kinds
from medfusion_core.discovery import canonical_name
from medfusion_core.errors import AmbiguousComponentError, ComponentNotFoundError
from medfusion_core.kinds.exporter import ExporterInfo
from medfusion_core.kinds.kernel import KernelInfo
from medfusion_core.specs import ComponentSpec


class ComponentRegistry:
    """Index of component specs by kind and name."""

    def __init__(self, specs: Iterable[ComponentSpec]) -> None:
        self._by_kind: dict[str, dict[str, list[ComponentSpec]]] = {kind: {} for kind in kinds.NAMES}
        for spec in specs:
            self._by_kind[spec.kind].setdefault(spec.name, []).append(spec)
        self._suffixes: dict[tuple[str, str], list[tuple[str, ComponentSpec]]] = {}

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
        """``(kind, name, plugins)`` for every name registered by more than one plugin (a kernel's
        reference and its accelerated twin are by design, not a conflict)."""
        conflicts = []
        for kind, by_name in self._by_kind.items():
            for name, group in sorted(by_name.items()):
                owners = sorted(spec.plugin for spec in group if not _is_reference(spec))
                if len(owners) > 1:
                    conflicts.append((kind, name, owners))
        return conflicts

    def resolve(self, kind: str, name: str) -> ComponentSpec:
        """The spec for ``name`` or ``plugin:name``; raises a helpful error when there is none
        or when several plugins offer it."""
        plugin, sep, bare = name.rpartition(":")
        candidates = self._candidates(kind, bare)
        if sep:
            wanted = canonical_name(plugin)
            candidates = [spec for spec in candidates if spec.plugin == wanted]
        if not candidates:
            raise ComponentNotFoundError(self._unknown_message(kind, name))
        return _only(candidates, f"{kind} {bare!r}", bare)

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

    def reader(self, path: str | Path) -> ComponentSpec:
        """The reader whose longest extension matches ``path`` (case-insensitive)."""
        return self._by_suffix(
            "reader",
            "extensions",
            path,
            "image reader for this file type",
            "readers come with plugins, e.g. medfusion-plugin-readers",
        )

    def artifact_exporter(self, path: str | Path) -> ComponentSpec:
        """The exporter whose predictor scores artifacts like ``path`` (by longest suffix)."""
        return self._by_suffix(
            "exporter",
            "suffixes",
            path,
            "exporter scores this kind of artifact",
            "medfusion-plugin-export scores .onnx",
            usable=lambda spec: bool(spec.info.predictor),  # type: ignore[attr-defined]
        )

    def _by_suffix(
        self,
        kind: str,
        field: str,
        path: str | Path,
        what: str,
        hint: str,
        usable: Callable[[ComponentSpec], bool] = lambda spec: True,
    ) -> ComponentSpec:
        """The usable ``kind`` spec whose longest ``info.<field>`` suffix matches ``path``."""
        name = Path(path).name.lower()
        table = [(suffix, spec) for suffix, spec in self._suffix_table(kind, field) if usable(spec)]
        matches = [(suffix, spec) for suffix, spec in table if name.endswith(suffix)]
        if not matches:
            known = ", ".join(sorted({suffix for suffix, _ in table})) or "none"
            raise ComponentNotFoundError(f"{path}: no {what}; known: {known} ({hint})")
        longest = [spec for suffix, spec in matches if len(suffix) == len(matches[0][0])]
        return _only(longest, f"{kind} for {Path(path).name!r}", remedy="disable one with --disable <plugin>")

    def _suffix_table(self, kind: str, field: str) -> list[tuple[str, ComponentSpec]]:
        """``(suffix, spec)`` of every ``kind`` spec by the suffix list ``info.<field>``, longest
        suffix first; built once per registry (readers are looked up for every image)."""
        key = (kind, field)
        if key not in self._suffixes:
            pairs = [
                (suffix.lower(), spec) for spec in self.specs(kind) for suffix in getattr(spec.info, field)
            ]
            self._suffixes[key] = sorted(pairs, key=lambda pair: -len(pair[0]))
        return self._suffixes[key]

    def exporter(self, fmt: str) -> ComponentSpec:
        """The exporter serving ``--format fmt`` (or ``plugin:fmt``)."""
        plugin, sep, bare = fmt.rpartition(":")
        specs = self.specs("exporter")
        serving = [
            spec
            for spec in specs
            if isinstance(spec.info, ExporterInfo)
            and bare in spec.info.formats
            and (not sep or spec.plugin == canonical_name(plugin))
        ]
        if not serving:
            known = sorted({f for spec in specs for f in spec.info.formats})  # type: ignore[attr-defined]
            raise ComponentNotFoundError(
                f"no installed exporter writes this format; available: "
                f"{', '.join(known) or 'none (install medfusion-plugin-export)'}"
            )
        return _only(serving, f"export format {bare!r}", bare)

    def kernel(self, name: str) -> tuple[ComponentSpec | None, ComponentSpec | None]:
        """``(reference, accelerated)`` specs of kernel ``name`` (either may be missing)."""
        group = self._by_kind["kernel"].get(name, [])
        reference = [spec for spec in group if _is_reference(spec)]
        accelerated = [spec for spec in group if spec not in reference]
        return (
            _only(reference, f"reference kernel {name!r}") if reference else None,
            _only(accelerated, f"kernel {name!r}") if accelerated else None,
        )


def _is_reference(spec: ComponentSpec) -> bool:
    """Whether ``spec`` is one of the core's reference kernels."""
    return isinstance(spec.info, KernelInfo) and spec.info.reference


def _only(
    candidates: list[ComponentSpec], what: str, name: str | None = None, *, remedy: str | None = None
) -> ComponentSpec:
    """The one candidate; several are an ambiguity naming every plugin and the way out (by
    default: write ``plugin:name``)."""
    if len(candidates) > 1:
        plugins = ", ".join(sorted(spec.plugin for spec in candidates))
        name = name or candidates[0].name
        remedy = remedy or f"write it as '<plugin>:{name}', e.g. '{candidates[0].plugin}:{name}'"
        raise AmbiguousComponentError(f"{what} is registered by several plugins ({plugins}); {remedy}")
    return candidates[0]
