"""The component kinds: the one list from which the hookspecs, spec validation, the registry's
index, ``--kind`` choices and the hook reference are derived (the config's component fields and
``new-plugin``'s templates name kinds of this list).

Each kind lives in its own module (``kinds/fusion.py``, ...) holding its hookspec (whose docstring
is the contract), a ``typing.Protocol`` of the component, its typed metadata class and its
conformance check, and ends with a :class:`~medfusion_core.kinds.base.Kind` descriptor. Adding a
kind is adding one module and naming it in :data:`KINDS`.

Plugins implement hooks with :data:`hookimpl`::

    from medfusion_core import ComponentSpec, hookimpl


    @hookimpl
    def medfusion_register_fusions():
        return [ComponentSpec("my_fusion", "fusion", "my_pkg.fusion:MyFusion", "one line")]

Every hook takes no arguments and returns a list of :class:`~medfusion_core.specs.ComponentSpec`
(or ``None``). A hook must be cheap: it describes components by import string and must not
import torch or build models. The host calls each plugin's implementation on its own, so a
plugin whose hook raises is marked failed without affecting the others.
"""

from __future__ import annotations

import sys

import pluggy

from medfusion_core.kinds import (
    aggregator,
    attention,
    backbone,
    command,
    exporter,
    fusion,
    kernel,
    loss,
    node,
    reader,
    report,
    tracker,
    trainer,
)
from medfusion_core.kinds.base import PROJECT, Info, Kind, hookimpl, hookspec

#: Every component kind, in the order listings show them.
KINDS: tuple[Kind, ...] = tuple(
    module.KIND
    for module in (
        backbone,
        fusion,
        aggregator,
        attention,
        loss,
        trainer,
        exporter,
        kernel,
        reader,
        command,
        report,
        tracker,
        node,
    )
)

#: Kind names, in :data:`KINDS` order.
NAMES: tuple[str, ...] = tuple(kind.name for kind in KINDS)

_BY_NAME = {kind.name: kind for kind in KINDS}


def get(name: str) -> Kind:
    """The kind called ``name``; :class:`KeyError` names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown component kind {name!r}; known: {', '.join(NAMES)}") from None


def add_hookspecs(manager: pluggy.PluginManager) -> None:
    """Declare every kind's hook on ``manager``."""
    for kind in KINDS:
        manager.add_hookspecs(sys.modules[kind.spec.__module__])


__all__ = ["KINDS", "NAMES", "PROJECT", "Info", "Kind", "add_hookspecs", "get", "hookimpl", "hookspec"]
