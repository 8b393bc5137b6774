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

from medfusion_core import kinds
from medfusion_core.errors import PluginError
from medfusion_core.kinds.base import Info

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


@attrs.frozen(init=False)
class ComponentSpec:
    """Description of one component a plugin offers.

    Attributes:
        name: the component's name as written in configs (``resnet18``, ``gated``); a trailing
            ``*`` makes it a family pattern (``resnet*``) that the factory resolves itself.
        kind: one of :data:`medfusion_core.kinds.NAMES`.
        factory: import string ``"package.module:attribute"`` of the callable that builds it.
        summary: one line for listings.
        params: accepted keyword parameters, or ``None`` when the factory checks them itself.
        info: the kind's typed metadata (e.g. :class:`~medfusion_core.kinds.reader.ReaderInfo`
            for readers); default: the kind's metadata class with its defaults.
        plugin: canonical name of the providing plugin; filled in by the plugin host.

    ``extra={...}`` (a plain dict of the metadata fields) is accepted instead of ``info`` for
    plugins written before the typed metadata; it is converted to the kind's class.
    """

    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(kinds.NAMES))
    factory: str = attrs.field()
    summary: str = ""
    params: dict[str, Param] | None = attrs.field(default=None, converter=_to_params)
    info: Info = attrs.field(factory=Info)
    plugin: str = ""

    def __init__(
        self,
        name: str,
        kind: str,
        factory: str,
        summary: str = "",
        params: Mapping[str, Param] | None = None,
        info: Info | None = None,
        plugin: str = "",
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        info_class = kinds.get(kind).info if kind in kinds.NAMES else Info
        if info is None:
            info = info_class.from_json(extra or {})
        elif extra is not None:
            raise TypeError(f"component {name!r}: give info or extra, not both")
        if not isinstance(info, info_class):
            raise TypeError(
                f"component {name!r}: info must be a {info_class.__name__} for kind {kind!r}, "
                f"got {type(info).__name__}"
            )
        self.__attrs_init__(name, kind, factory, summary, params, info, plugin)  # type: ignore[attr-defined]

    @factory.validator
    def _check_factory(self, _attribute: attrs.Attribute, value: str) -> None:
        module, sep, attr = value.partition(":")
        if not (module and sep and attr):
            raise ValueError(
                f"component {self.name!r}: factory must look like 'package.module:Factory', got {value!r}"
            )

    @property
    def extra(self) -> dict[str, Any]:
        """The metadata as plain data (its non-default fields): the ``"extra"`` of :meth:`to_json`."""
        return self.info.to_json()

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
            "extra": self.info.to_json(),
        }
