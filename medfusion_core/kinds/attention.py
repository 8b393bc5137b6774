"""The attention kind: a module on backbone feature maps that keeps their shape.

Contract: ``factory(channels: int, **params)`` builds a module mapping ``[B, C, H, W]`` to the same
shape; one that computes a spatial map stores it in ``attention_map: Tensor[B, 1, H, W]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec

if TYPE_CHECKING:
    from torch import Tensor

    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_attention() -> list[ComponentSpec] | None:
    """Register attention modules applied to backbone feature maps.

    Factory signature: ``factory(channels: int, **params) -> nn.Module`` mapping
    ``[B, C, H, W]`` to the same shape.
    """


class Attention(Protocol):
    """What the model assembly relies on in an attention module."""

    def forward(self, x: Tensor) -> Tensor:
        """Same shape as ``x [B, C, H, W]``."""
        ...


def _dims(value: int | tuple[int, ...] | list[int]) -> int | tuple[int, ...]:
    return value if isinstance(value, int) else tuple(int(v) for v in value)


@attrs.frozen
class AttentionInfo(ModuleInfo):
    """Attention metadata.

    Attributes:
        dims: the feature-map dimensionalities handled: an int or a tuple (default 2).
    """

    dims: int | tuple[int, ...] = attrs.field(default=2, converter=_dims)

    def handles(self, dims: int) -> bool:
        """Whether the module works on ``dims``-D feature maps."""
        return dims == self.dims if isinstance(self.dims, int) else dims in self.dims


KIND = Kind("attention", medfusion_register_attention, AttentionInfo, Attention)
