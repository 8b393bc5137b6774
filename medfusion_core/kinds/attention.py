"""The attention kind: a module on backbone feature maps that keeps their shape.

Contract: ``factory(channels: int, **params)`` builds a module mapping ``[B, C, H, W]`` to the same
shape; one that computes a spatial map stores it in ``attention_map: Tensor[B, 1, H, W]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec, single_threaded

if TYPE_CHECKING:
    from torch import Tensor, nn

    from medfusion_core.kinds.checking import Target
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


@single_threaded
def check_attention(
    spec: Target,
    *,
    channels: int = 8,
    size: tuple[int, int] = (6, 6),
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> nn.Module:
    """Check an attention module: ``factory(channels, **params)``, ``[B, C, H, W]`` -> same shape;
    an ``attention_map`` attribute, when set after forward, is ``[B, 1, H, W]``."""
    import torch

    from medfusion_core.kinds import checking as kit

    shape = (3, channels, *size)

    def build() -> nn.Module:
        return spec.build(channels, **dict(params or {}))

    def make_inputs() -> kit.Inputs:
        return (kit.randn(torch.Generator().manual_seed(seed), *shape),), {}

    module = spec.check(
        build,
        make_inputs,
        seed=seed,
        grad_inputs=lambda inputs: [("x", inputs[0][0])],
    )
    with torch.no_grad():
        kit.assert_shape(spec.label, "output", module(*make_inputs()[0]), shape)
        attention_map = getattr(module, "attention_map", None)
        if attention_map is not None:
            kit.assert_shape(spec.label, "attention_map", attention_map, (shape[0], 1, *size))
    return module


KIND = Kind("attention", medfusion_register_attention, AttentionInfo, Attention, check_attention)
