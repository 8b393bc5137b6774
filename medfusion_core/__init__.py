"""MedFusion core: the plugin contract, discovery, lazy registry, config and CLI.

Importing this package is cheap: it never imports torch. Plugin authors need only::

    from medfusion_core import ComponentSpec, Param, hookimpl
"""

from __future__ import annotations

__version__ = "0.1.0"

from medfusion_core.kinds.base import hookimpl
from medfusion_core.specs import ComponentSpec, Param

__all__ = ["ComponentSpec", "Param", "__version__", "hookimpl"]
