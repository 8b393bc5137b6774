"""A small 3D ResNet (basic blocks) for CT/MR volumes ``[B, C, D, H, W]``.

Depths 10, 18 and 34 use one, two, or (3, 4, 6, 3) basic blocks per stage; the stem is a
7x7x7 convolution with stride (1, 2, 2) followed by max pooling, so thin volumes keep their
depth in the first stage.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from medfusion_core.errors import ComponentNotFoundError, ConfigError
from medfusion_core.kinds.backbone import CamTarget
from medfusion_plugin_cnn.weights import load_pretrained

#: Blocks per stage for each supported depth.
DEPTHS: dict[int, tuple[int, int, int, int]] = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class BasicBlock3d(nn.Module):
    """Two 3x3x3 convolutions with batch norm and a (projected) identity shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm3d(channels)
        self.conv2 = nn.Conv3d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(channels)
        self.act = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_channels, channels, 1, stride=stride, bias=False), nn.BatchNorm3d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual block output, spatially downsampled by ``stride``."""
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class ResNet3d(nn.Module):
    """3D ResNet backbone following the MedFusion backbone contract (``extra={"dims": 3}``).

    Args:
        depth: 10, 18 or 34.
        in_chans: channels of the input volume.
        base_width: channels of the first stage (doubled at each of the four stages).
        drop_rate: dropout applied to the pooled features.
    """

    def __init__(self, depth: int = 18, *, in_chans: int = 1, base_width: int = 64, drop_rate: float = 0.0):
        super().__init__()
        if depth not in DEPTHS:
            raise ConfigError(f"resnet3d depth {depth} is not supported; choose one of {sorted(DEPTHS)}")
        if base_width < 1:
            raise ConfigError(f"resnet3d base_width must be a positive integer, got {base_width}")
        self.stem = nn.Sequential(
            nn.Conv3d(in_chans, base_width, 7, stride=(1, 2, 2), padding=3, bias=False),
            nn.BatchNorm3d(base_width),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(3, stride=2, padding=1),
        )
        blocks: list[nn.Module] = []
        channels = base_width
        for stage, count in enumerate(DEPTHS[depth]):
            width = base_width * 2**stage
            for index in range(count):
                blocks.append(BasicBlock3d(channels, width, stride=2 if stage > 0 and index == 0 else 1))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(drop_rate)
        self.feature_channels: int = channels
        self.out_features: int = channels
        self.grad_checkpointing = False
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map ``[B, feature_channels, d, h, w]`` of volumes ``[B, C, D, H, W]``."""
        x = self.stem(x)
        for block in self.blocks:
            use_checkpoint = self.grad_checkpointing and self.training and torch.is_grad_enabled()
            x = checkpoint(block, x, use_reentrant=False) if use_checkpoint else block(x)
        return x

    def cam_target(self) -> CamTarget:
        """Grad-CAM reads the last residual block's output (the feature map)."""
        return CamTarget(self.blocks[-1])

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """Global average pooled features ``[B, out_features]``."""
        return self.drop(feature_map.mean(dim=(2, 3, 4)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, out_features]`` of volumes ``[B, C, D, H, W]``."""
        return self.pool(self.forward_features(x))

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass to save memory."""
        self.grad_checkpointing = enable


def create_resnet3d(
    name: str,
    *,
    in_chans: int,
    pretrained: str | Path | None = None,
    base_width: int = 64,
    drop_rate: float = 0.0,
) -> ResNet3d:
    """Build ``resnet3d_<depth>`` (e.g. ``resnet3d_18``), optionally from a local weights file."""
    suffix = name.rpartition("_")[2]
    if not suffix.isdigit() or int(suffix) not in DEPTHS:
        choices = ", ".join(f"resnet3d_{d}" for d in DEPTHS)
        raise ComponentNotFoundError(f"backbone {name!r} is not a 3D ResNet; choose one of {choices}")
    model = ResNet3d(int(suffix), in_chans=in_chans, base_width=base_width, drop_rate=drop_rate)
    if pretrained is not None:
        load_pretrained(model, pretrained, in_chans=in_chans, first_conv="stem.0")
    return model
