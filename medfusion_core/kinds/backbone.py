"""The backbone kind: an image encoder applied to every view.

Contract: ``factory(name, *, in_chans, pretrained=None, **params)`` (``name`` only for family
specs) builds a module mapping images ``[B, C, H, W]`` (``[B, C, D, H, W]`` when
``BackboneInfo(dims=3)``) to features ``[B, out_features]``; ``forward_features`` gives the feature
map ``[B, feature_channels, h, w]`` and ``pool`` turns it into the features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

from medfusion_core.kinds.base import Kind, ModuleInfo, hookspec

if TYPE_CHECKING:
    from torch import Tensor

    from medfusion_core.specs import ComponentSpec


@hookspec
def medfusion_register_backbones() -> list[ComponentSpec] | None:
    """Register image backbones.

    Factory signature: ``factory(name, *, in_chans, pretrained=None, **params) -> nn.Module``.
    The module maps images ``[B, C, H, W]`` (or ``[B, C, D, H, W]`` for ``BackboneInfo(dims=3)``) to
    features ``[B, D]`` and exposes ``out_features: int``. ``pretrained`` is a path to a local
    weights file or ``None``; it never triggers a download. A module that supports gradient
    checkpointing exposes ``set_grad_checkpointing(enable: bool)``.
    A spec name ending in ``*`` registers a family (``resnet*``); ``name`` passed to the factory
    is then the concrete name from the config.
    """


class Backbone(Protocol):
    """What the model assembly relies on in a backbone module."""

    out_features: int
    feature_channels: int

    def forward(self, images: Tensor) -> Tensor:
        """Features ``[B, out_features]``; equals ``pool(forward_features(images))``."""
        ...

    def forward_features(self, images: Tensor) -> Tensor:
        """Feature map ``[B, feature_channels, h, w]`` (3D: ``[B, C, d, h, w]``)."""
        ...

    def pool(self, feature_map: Tensor) -> Tensor:
        """Features ``[B, out_features]`` from a feature map."""
        ...


def _optional_ints(value: object) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(v) for v in value)  # type: ignore[attr-defined]


@attrs.frozen
class BackboneInfo(ModuleInfo):
    """Backbone metadata.

    Attributes:
        dims: 2 for images, 3 for volumes.
        input_size: the spatial input size the conformance kit uses (e.g. ``(32, 32)``), when the
            default one does not fit the model.
    """

    dims: int = attrs.field(default=2, validator=attrs.validators.in_((2, 3)))
    input_size: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)


KIND = Kind("backbone", medfusion_register_backbones, BackboneInfo, Backbone)
