"""The way to reach the component registry: ``get_registry()`` is the current host's.

:class:`~medfusion_core.lookups.ComponentRegistry` holds the lookups; the registry belongs to the
current :class:`~medfusion_core.host.Host`, so swapping the host swaps the registry.
"""

from __future__ import annotations

from medfusion_core.host import get_host
from medfusion_core.lookups import ComponentRegistry


def get_registry() -> ComponentRegistry:
    """The registry of the current plugin host (see :func:`medfusion_core.host.get_host`)."""
    return get_host().registry()


__all__ = ["ComponentRegistry", "get_registry"]
