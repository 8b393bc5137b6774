"""The one :class:`Host`: plugin discovery and statuses, the component registry and the kernels.

Swapping the host (:func:`set_host`, :func:`use_host`) swaps one object: the registry and the
kernel choice are caches of the host, rebuilt when a plugin is registered.

Plugins are distributions exposing an entry point in the group ``medfusion.plugins``. Each gets
a :class:`PluginRecord` with a status:

- ``ok``: imported and every hook answered with valid specs;
- ``failed``: import or a hook raised, a hook returned something that is not a spec list, or
  the plugin implements a hook no kind declares (``error`` and ``where`` say what and where);
- ``disabled``: excluded by the disable list, or absent from an allow list;
- ``incompatible``: its declared ``medfusion-core`` range excludes this core. This is read from
  the distribution metadata *before* the plugin is imported.

A failing plugin never stops the others; with ``strict=True`` any failure raises instead.
The canonical plugin name is the normalised distribution name (``medfusion-plugin-swin``).
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pluggy

from medfusion_core import __version__ as CORE_VERSION
from medfusion_core import kinds
from medfusion_core.discovery import CORE_DISTRIBUTION, PluginEntry, canonical_name, plugin_entries
from medfusion_core.errors import MedFusionError, PluginError
from medfusion_core.kinds.kernel import KernelInfo
from medfusion_core.lookups import ComponentRegistry
from medfusion_core.specs import ComponentSpec

CORE_PLUGIN_NAME = CORE_DISTRIBUTION
#: Serialises the first load of a host (threads wait for a complete one).
_LOADING = threading.RLock()
ENV_ALLOW = "MEDFUSION_PLUGINS"
ENV_DISABLE = "MEDFUSION_DISABLE_PLUGINS"
ENV_NO_AUTOLOAD = "MEDFUSION_DISABLE_PLUGIN_AUTOLOAD"
ENV_STRICT = "MEDFUSION_STRICT_PLUGINS"
ENV_FORCE_REFERENCE = "MEDFUSION_KERNELS"

STATUSES = ("ok", "failed", "disabled", "incompatible")


@attrs.define
class PluginRecord:
    """What the host knows about one plugin. ``to_json`` is the ``list-plugins --json`` schema."""

    name: str
    version: str
    status: str
    entry_point: str = ""
    error: str | None = None
    where: str | None = None
    core_range: str | None = None
    hooks: list[str] = attrs.field(factory=list)
    specs: list[ComponentSpec] = attrs.field(factory=list)

    def components(self) -> dict[str, list[str]]:
        """Component names this plugin offers, by kind."""
        by_kind: dict[str, list[str]] = {}
        for spec in self.specs:
            by_kind.setdefault(spec.kind, []).append(spec.name)
        return by_kind

    def to_json(self) -> dict[str, Any]:
        """Stable plain-data form (documented in docs/cli.md)."""
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "where": self.where,
            "core_range": self.core_range,
            "entry_point": self.entry_point,
            "hooks": list(self.hooks),
            "components": self.components(),
        }


def split_names(value: str | Iterable[str] | None) -> set[str]:
    """Canonical plugin names from a comma-separated string or an iterable of names."""
    if value is None:
        return set()
    items = value.split(",") if isinstance(value, str) else value
    return {canonical_name(item.strip()) for item in items if item.strip()}


class Host:
    """Loads plugins in isolation; owns their statuses, the registry and the kernel choice.

    Args:
        autoload: discover entry points; when False only the core and hand-registered plugins
            are present (what tests use). ``MEDFUSION_DISABLE_PLUGIN_AUTOLOAD=1`` turns it off.
        allow: only these plugins are loaded (others are ``disabled``); default ``MEDFUSION_PLUGINS``.
        disable: these plugins are ``disabled``; default ``MEDFUSION_DISABLE_PLUGINS``.
        strict: raise :class:`PluginError` on the first failed or incompatible plugin.
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        allow: str | Iterable[str] | None = None,
        disable: str | Iterable[str] | None = None,
        strict: bool | None = None,
    ) -> None:
        env = os.environ
        self.autoload = (not env.get(ENV_NO_AUTOLOAD)) if autoload is None else autoload
        self.allow = split_names(env.get(ENV_ALLOW) if allow is None else allow)
        self.disable = split_names(env.get(ENV_DISABLE) if disable is None else disable)
        self.strict = bool(env.get(ENV_STRICT)) if strict is None else strict
        self._pm = pluggy.PluginManager(kinds.PROJECT)
        kinds.add_hookspecs(self._pm)
        self._records: dict[str, PluginRecord] = {}
        self._loaded = False  # loading has started
        self._ready = False  # loading has finished
        self._registry: ComponentRegistry | None = None
        self._kernels: _KernelTable | None = None
        self._caching = threading.RLock()

    # -- loading -----------------------------------------------------------------------------

    def load(self) -> Host:
        """Register the core and, with autoload, every entry-point plugin. Idempotent; other
        threads calling it meanwhile wait until loading is complete."""
        if self._ready:
            return self
        with _LOADING:
            if self._loaded:  # done meanwhile, or re-entered by the loading thread itself
                return self
            self._loaded = True
            from medfusion_core import builtin

            self.register(builtin, CORE_PLUGIN_NAME, version=CORE_VERSION, entry_point=builtin.__name__)
            if self.autoload:
                for entry in plugin_entries():
                    self._load_entry_point(entry)
            self._ready = True
        return self

    def _load_entry_point(self, entry: PluginEntry) -> None:
        name = entry.name
        if name in self._records:
            return
        record = PluginRecord(
            name=name,
            version=entry.version,
            status="ok",
            entry_point=entry.value,
            core_range=entry.core_range,
        )
        self._records[name] = record
        if self._excluded(name):
            record.status = "disabled"
            record.error = self._exclusion_reason(name)
            return
        if not entry.compatible:
            self._fail(
                record,
                "incompatible",
                "metadata",
                f"requires medfusion-core{entry.core_range} but {CORE_VERSION} is installed; "
                f"upgrade the plugin or medfusion-core",
            )
            return
        try:
            module = entry.load()
        except Exception as exc:
            self._fail(record, "failed", "import", f"{type(exc).__name__}: {exc}")
            return
        self._register_module(module, record)

    def register(
        self,
        module: object,
        name: str,
        *,
        version: str = "0",
        entry_point: str = "",
        core_range: str | None = None,
    ) -> PluginRecord:
        """Register an already-imported plugin object by hand (tests, embedding applications)."""
        name = canonical_name(name)
        record = PluginRecord(
            name=name, version=version, status="ok", entry_point=entry_point, core_range=core_range
        )
        self._records[name] = record
        if name != CORE_PLUGIN_NAME and self._excluded(name):
            record.status = "disabled"
            record.error = self._exclusion_reason(name)
            return record
        self._register_module(module, record)
        self.forget()
        return record

    def _register_module(self, module: object, record: PluginRecord) -> None:
        try:
            self._pm.register(module, name=record.name)
        except Exception as exc:
            self._fail(record, "failed", "register", f"{type(exc).__name__}: {exc}")
            return
        unknown = self._unknown_hook(record.name)
        if unknown is not None:
            self._pm.unregister(name=record.name)
            self._fail(record, "failed", unknown[0], unknown[1])
            return
        specs: list[ComponentSpec] = []
        hooks: list[str] = []
        for kind in kinds.KINDS:
            kind_name, hook_name = kind.name, kind.hook
            impls = [
                impl
                for impl in getattr(self._pm.hook, hook_name).get_hookimpls()
                if impl.plugin_name == record.name
            ]
            for impl in impls:
                hooks.append(hook_name)
                try:
                    specs.extend(self._checked_specs(impl.function(), kind_name, record.name, hook_name))
                except Exception as exc:
                    self._pm.unregister(name=record.name)
                    self._fail(record, "failed", hook_name, f"{type(exc).__name__}: {exc}")
                    return
        record.hooks = hooks
        record.specs = specs

    def _unknown_hook(self, plugin: str) -> tuple[str, str] | None:
        """``(hook, message)`` for the first hook of ``plugin`` that no kind declares (pluggy's
        ``check_pending``), with the closest declared hook name."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError:
            pass
        else:
            return None
        declared = [kind.hook for kind in kinds.KINDS]
        for name, caller in vars(self._pm.hook).items():
            if caller.has_spec() or not any(i.plugin_name == plugin for i in caller.get_hookimpls()):
                continue
            close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; hooks are: {', '.join(declared)}"
            return name, f"unknown hook {name!r}{hint}"
        return None

    @staticmethod
    def _checked_specs(result: Any, kind: str, plugin: str, hook_name: str) -> list[ComponentSpec]:
        if result is None:
            return []
        if not isinstance(result, (list, tuple)):
            raise TypeError(f"{hook_name} must return a list of ComponentSpec, got {type(result).__name__}")
        specs = []
        for item in result:
            if not isinstance(item, ComponentSpec):
                raise TypeError(f"{hook_name} returned {type(item).__name__}, expected ComponentSpec")
            if item.kind != kind:
                raise TypeError(
                    f"{hook_name} returned {item.name!r} of kind {item.kind!r}, expected {kind!r}"
                )
            specs.append(attrs.evolve(item, plugin=plugin))
        return specs

    def _excluded(self, name: str) -> bool:
        return name in self.disable or bool(self.allow and name not in self.allow)

    def _exclusion_reason(self, name: str) -> str:
        if name in self.disable:
            return "disabled by --disable or MEDFUSION_DISABLE_PLUGINS"
        return "not in the allow list (--only or MEDFUSION_PLUGINS)"

    def _fail(self, record: PluginRecord, status: str, where: str, error: str) -> None:
        record.status = status
        record.where = where
        record.error = error
        record.specs = []
        if self.strict:
            raise PluginError(f"plugin {record.name} {status} at {where}: {error}")

    # -- queries -----------------------------------------------------------------------------

    def records(self) -> list[PluginRecord]:
        """All plugins, the core first, then by name."""
        self.load()
        return sorted(self._records.values(), key=lambda r: (r.name != CORE_PLUGIN_NAME, r.name))

    def record(self, name: str) -> PluginRecord | None:
        """The record of one plugin by any spelling of its name."""
        self.load()
        return self._records.get(canonical_name(name))

    def specs(self, kind: str | None = None) -> list[ComponentSpec]:
        """Specs of every ``ok`` plugin, optionally of one kind."""
        return [
            spec
            for record in self.records()
            if record.status == "ok"
            for spec in record.specs
            if kind is None or spec.kind == kind
        ]

    def registry(self) -> ComponentRegistry:
        """The registry of every ``ok`` plugin's specs (built once, rebuilt after ``register``)."""
        if self._registry is None:
            specs = self.specs()
            with self._caching:
                if self._registry is None:
                    self._registry = ComponentRegistry(specs)
        return self._registry

    def forget(self) -> None:
        """Drop the cached registry and kernel choice (rebuilt on next use)."""
        with self._caching:
            self._registry = None
            self._kernels = None

    # -- kernels -----------------------------------------------------------------------------

    def kernel(self, name: str, *, reference: bool = False) -> Callable[..., Any]:
        """The active implementation of kernel ``name``: the accelerated one when one is
        registered, imports cleanly and ``MEDFUSION_KERNELS`` does not force the reference
        (``reference=True``: always the core's reference)."""
        table = self._kernel_table()
        if name not in table.reference:
            raise KeyError(f"unknown kernel {name!r}; known: {', '.join(sorted(table.reference))}")
        if not reference and not forced_reference() and name in table.accelerated:
            return table.accelerated[name]
        return table.reference[name]

    def _kernel_table(self) -> _KernelTable:
        """Every kernel loaded once; published only when complete, so a thread racing the first
        resolution never sees a partial table (and a reference kernel)."""
        table = self._kernels
        if table is not None:
            return table
        registry = self.registry()
        with self._caching:
            if self._kernels is None:
                table = _KernelTable()
                for name in registry.names("kernel"):
                    reference, accelerated = registry.kernel(name)
                    if reference is None:
                        continue
                    table.reference[name] = reference.load()
                    if accelerated is None:
                        continue
                    try:
                        table.accelerated[name] = accelerated.load()
                    except MedFusionError as exc:
                        table.fallback[name] = str(exc)
                self._kernels = table
            return self._kernels

    def kernel_report(self, *, load: bool = True) -> dict[str, Any]:
        """Which implementation each kernel uses, for ``doctor`` and ``list-plugins``.

        With ``load=False`` nothing is imported: the backend is the declared accelerated module
        (an import failure then shows only with ``load=True``, as ``doctor`` does).
        ``accelerators`` maps the top-level package of each active accelerator to what its
        declared ``KernelInfo.runtime_info`` function returns (e.g. version and thread count).
        """
        forced = forced_reference()
        registry = self.registry()
        fallback = self._kernel_table().fallback if load else {}
        active: dict[str, ComponentSpec] = {}
        names = []
        for name in registry.names("kernel"):
            reference, accelerated = registry.kernel(name)
            if reference is None:
                continue
            names.append(name)
            if accelerated is not None and not forced and name not in fallback:
                active[name] = accelerated
        return {
            "forced_reference": forced,
            "accelerators": _accelerator_info(active.values()),
            "kernels": {
                name: {
                    "backend": active[name].factory.partition(":")[0] if name in active else "reference",
                    "fallback_reason": f"{ENV_FORCE_REFERENCE}=reference" if forced else fallback.get(name),
                }
                for name in names
            },
        }


@attrs.define
class _KernelTable:
    """Loaded kernels: references, accelerated twins and why an accelerated one is missing."""

    reference: dict[str, Callable[..., Any]] = attrs.field(factory=dict)
    accelerated: dict[str, Callable[..., Any]] = attrs.field(factory=dict)
    fallback: dict[str, str] = attrs.field(factory=dict)


def forced_reference() -> bool:
    """Whether ``MEDFUSION_KERNELS=reference`` (or ``numpy``/``off``) forces the references."""
    return os.environ.get(ENV_FORCE_REFERENCE, "").lower() in ("reference", "numpy", "off")


def _accelerator_info(active: Iterable[ComponentSpec]) -> dict[str, Any]:
    """The declared ``runtime_info()`` of each package providing an active kernel (errors are
    reported, not raised: a broken accelerator must not break doctor)."""
    info: dict[str, Any] = {}
    for spec in active:
        package = spec.factory.partition(".")[0].partition(":")[0]
        describe = spec.info.runtime_info if isinstance(spec.info, KernelInfo) else None
        if package in info or describe is None:
            continue
        try:
            info[package] = dict(_load(describe)())
        except Exception as exc:
            info[package] = {"error": f"{type(exc).__name__}: {exc}"}
    return info


def _load(target: str) -> Any:
    """The object named by the import string ``package.module:attribute``."""
    import importlib

    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


_current: Host | None = None


def get_host() -> Host:
    """The process-wide plugin host, created (from the environment) and loaded on first use."""
    global _current
    if _current is None:
        with _LOADING:
            if _current is None:
                _current = Host()
    return _current.load()


def set_host(host: Host | None) -> None:
    """Replace the process-wide host (``None`` resets it to be rebuilt from the environment)."""
    global _current
    _current = host


@contextmanager
def use_host(host: Host) -> Iterator[Host]:
    """Make ``host`` the process-wide host inside the ``with`` block."""
    previous = _current
    set_host(host)
    try:
        yield host.load()
    finally:
        set_host(previous)
