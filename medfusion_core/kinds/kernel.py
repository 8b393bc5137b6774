"""The kernel kind: named compute kernels, a numpy reference in the core and accelerated twins.

The core registers the reference of every kernel (``KernelInfo(reference=True)``); an accelerator
plugin registers faster implementations under the same names, with the same signature and
results. The host uses the accelerated one unless ``MEDFUSION_KERNELS=reference`` or it fails to
import. ``KernelInfo.runtime_info`` names the accelerator's ``runtime_info() -> dict`` (version,
thread count) that ``doctor`` and ``list-plugins`` show; it must not import numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from medfusion_core.kinds.base import Info, Kind, hookspec

if TYPE_CHECKING:
    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_kernels() -> list[ComponentSpec] | None:
    """Register accelerated implementations of named core kernels.

    ``name`` is the core kernel's name (see :mod:`medfusion_core.kernels`); the factory is the
    accelerated callable with the same signature and results as the numpy reference.
    ``KernelInfo(runtime_info="pkg:runtime_info")`` names a function returning the accelerator's
    version and thread count (a dict, cheap, importing no numpy) shown by ``doctor``.
    """


class KernelFunction(Protocol):
    """A kernel: the reference's signature and results."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the kernel."""
        ...


class RuntimeInfo(Protocol):
    """The accelerator's self-description named by :attr:`KernelInfo.runtime_info`."""

    def __call__(self) -> dict[str, Any]:
        """E.g. ``{"version": "0.1.0", "threads": 8}``."""
        ...


@attrs.frozen
class KernelInfo(Info):
    """Kernel metadata.

    Attributes:
        reference: the core's numpy reference (only the core sets it).
        runtime_info: import string of the accelerator's :class:`RuntimeInfo` function.
    """

    reference: bool = False
    runtime_info: str | None = None


_SHOWN_FIRST = frozenset({"version", "threads"})


def describe_accelerators(accelerators: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per active accelerator package of a kernel report, e.g.
    ``medfusion_plugin_native 0.1.0, 2 threads`` (or the error its ``runtime_info()`` raised)."""
    lines = []
    for package, info in sorted(accelerators.items()):
        if "error" in info:
            lines.append(f"{package}: runtime_info() failed: {info['error']}")
            continue
        parts = [str(info["version"])] if "version" in info else []
        if "threads" in info:
            parts.append(f"{info['threads']} thread{'' if info['threads'] == 1 else 's'}")
        parts += [f"{key} {value}" for key, value in sorted(info.items()) if key not in _SHOWN_FIRST]
        lines.append(" ".join([package, ", ".join(parts)]).strip())
    return lines


KIND = Kind("kernel", medfusion_register_kernels, KernelInfo, KernelFunction)
