"""The core's own plugin: the readers and numpy reference kernels that ship with medfusion-core."""

from __future__ import annotations

from medfusion_core.hookspecs import hookimpl
from medfusion_core.specs import ComponentSpec


@hookimpl
def medfusion_register_readers() -> list[ComponentSpec]:
    """Image readers shipped with the core (filled in by the data layer)."""
    return []
