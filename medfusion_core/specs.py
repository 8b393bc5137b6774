"""Component specs: what a plugin hook returns to describe a component without importing it.

A spec names the factory by an import string (``"package.module:Factory"``) so that discovering
and listing components never imports torch or any other heavy module; the factory is imported
only when a config first asks for the component.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import attrs

from medfusion_core.errors import PluginError

#: Component kinds, one pluggy hook each (``medfusion_register_<plural>``).
KINDS: tuple[str, ...] = (
    "backbone",
    "fusion",
    "aggregator",
    "attention",
    "loss",
    "trainer",
    "exporter",
    "kernel",
    "reader",
    "command",
    "tracker",
)

#: Hook name for each kind.
HOOK_FOR_KIND: dict[str, str] = {
    "backbone": "medfusion_register_backbones",
    "fusion": "medfusion_register_fusions",
    "aggregator": "medfusion_register_aggregators",
    "attention": "medfusion_register_attention",
    "loss": "medfusion_register_losses",
    "trainer": "medfusion_register_trainers",
    "exporter": "medfusion_register_exporters",
    "kernel": "medfusion_register_kernels",
    "reader": "medfusion_register_readers",
    "command": "medfusion_register_commands",
    "tracker": "medfusion_register_trackers",
}

_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
    "any": (object,),
}


@attrs.frozen
class Param:
    """One accepted parameter of a component factory.

    ``type`` is one of ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``, ``any``;
    ``default`` is informational (the factory's own default is the one used); ``help`` is a
    one-line description shown by ``medfusion info``.
    """

    type: str = attrs.field(validator=attrs.validators.in_(tuple(_PARAM_TYPES)))
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] | None = None

    def accepts(self, value: Any) -> bool:
        """Return whether ``value`` has this parameter's type (and is one of its choices)."""
        if value is None:
            return True
        allowed = _PARAM_TYPES[self.type]
        if self.type in ("int", "float") and isinstance(value, bool):
            return False
        if not isinstance(value, allowed):
            return False
        return self.choices is None or value in self.choices


def _to_params(value: Mapping[str, Param] | None) -> dict[str, Param] | None:
    return None if value is None else dict(value)


@attrs.frozen
class ComponentSpec:
    """Description of one component a plugin offers.

    Attributes:
        name: the component's name as written in configs (``resnet18``, ``gated``); a trailing
            ``*`` makes it a family pattern (``resnet*``) that the factory resolves itself.
        kind: one of :data:`KINDS`.
        factory: import string ``"package.module:attribute"`` of the callable that builds it.
        summary: one line for listings.
        params: accepted keyword parameters, or ``None`` when the factory checks them itself.
        extra: kind-specific metadata (e.g. ``extensions`` for readers, ``formats`` for
            exporters, ``dims`` for backbones); plain JSON-serialisable values only.
        plugin: canonical name of the providing plugin; filled in by the plugin host.
    """

    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    factory: str = attrs.field()
    summary: str = ""
    params: dict[str, Param] | None = attrs.field(default=None, converter=_to_params)
    extra: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    plugin: str = ""

    @factory.validator
    def _check_factory(self, _attribute: attrs.Attribute, value: str) -> None:
        module, sep, attr = value.partition(":")
        if not (module and sep and attr):
            raise ValueError(
                f"component {self.name!r}: factory must look like 'package.module:Factory', got {value!r}"
            )

    @property
    def qualified_name(self) -> str:
        """``plugin:name``, the spelling that is never ambiguous."""
        return f"{self.plugin}:{self.name}" if self.plugin else self.name

    @property
    def is_pattern(self) -> bool:
        """Whether this spec names a family of components (``resnet*``)."""
        return self.name.endswith("*")

    def load(self) -> Any:
        """Import and return the factory; raises :class:`PluginError` naming the plugin."""
        module_name, _, attr_path = self.factory.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr_path.split("."):
                target = getattr(target, part)
        except Exception as exc:
            raise PluginError(
                f"{self.kind} {self.qualified_name!r}: cannot import {self.factory} "
                f"({type(exc).__name__}: {exc}); reinstall {self.plugin or 'the plugin'}"
            ) from exc
        return target

    def to_json(self) -> dict[str, Any]:
        """Plain-data form used by ``list-plugins --json`` and ``info``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "plugin": self.plugin,
            "factory": self.factory,
            "summary": self.summary,
            "params": None
            if self.params is None
            else {
                key: {"type": p.type, "default": p.default, "help": p.help, "choices": p.choices}
                for key, p in self.params.items()
            },
            "extra": self.extra,
        }
