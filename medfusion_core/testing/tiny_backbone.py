"""A tiny third-party-style backbone plugin used by the model and conformance tests.

Tests of the core and of every plugin import it from here; its specs' import strings name this
module (:data:`MODULE`). It imports torch, so only tests import it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_core.kinds.backbone import BackboneInfo, CamTarget

MODULE = __name__
PLUGIN = "medfusion-plugin-tinybackbone"


class TinyBackbone(nn.Module):
    """Two conv layers (2D or 3D) and global average pooling: the backbone module contract."""

    def __init__(
        self, *, in_chans: int, pretrained: str | None = None, width: int = 6, dims: int = 2
    ) -> None:
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        norm = nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d
        self.stem = nn.Sequential(conv(in_chans, width, 3, stride=2, padding=1), norm(width), nn.ReLU())
        self.body = nn.Sequential(conv(width, width, 3, padding=1), nn.ReLU())
        self.feature_channels = width
        self.out_features = width
        self.grad_checkpointing = False
        if pretrained is not None:
            self.load_state_dict(torch.load(pretrained, weights_only=True))

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute the body in the backward pass instead of storing its activations."""
        self.grad_checkpointing = enable

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` (or ``[B, C, D, H, W]``) to a feature map."""
        x = self.stem(x)
        if self.grad_checkpointing and self.training:
            return checkpoint(self.body, x, use_reentrant=False)
        return self.body(x)

    def cam_target(self) -> CamTarget:
        """Grad-CAM reads the body's output (the feature map)."""
        return CamTarget(self.body)

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """Global average pooling to ``[B, out_features]``."""
        return feature_map.flatten(2).mean(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``pool(forward_features(x))``."""
        return self.pool(self.forward_features(x))


class TinyGate(nn.Module):
    """Spatial gate attention: ``x * sigmoid(conv1x1(x))``, keeping the map in ``attention_map``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)
        self.attention_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> same shape."""
        self.attention_map = torch.sigmoid(self.conv(x))
        return x * self.attention_map


def tiny_family(name: str, *, in_chans: int, pretrained: str | None = None, **params: int) -> TinyBackbone:
    """Family factory: ``tiny3d_*`` builds the 3D variant."""
    return TinyBackbone(
        in_chans=in_chans, pretrained=pretrained, dims=3 if name.startswith("tiny3d") else 2, **params
    )


@hookimpl
def medfusion_register_backbones() -> list[ComponentSpec]:
    """The tiny backbone, explicit and as a family."""
    return [
        ComponentSpec(
            "tiny",
            "backbone",
            f"{MODULE}:TinyBackbone",
            "Tiny 2-layer CNN for tests.",
            params={"width": Param("int", 6, "channels")},
        ),
        ComponentSpec(
            "tiny3d_*",
            "backbone",
            f"{MODULE}:tiny_family",
            "Tiny 3D CNN family for tests.",
            info=BackboneInfo(dims=3, examples=["tiny3d_a"], input_size=[8, 8, 8]),
        ),
    ]


@hookimpl
def medfusion_register_attention() -> list[ComponentSpec]:
    """The tiny spatial gate."""
    return [ComponentSpec("tiny_gate", "attention", f"{MODULE}:TinyGate", "Spatial gate for tests.")]
