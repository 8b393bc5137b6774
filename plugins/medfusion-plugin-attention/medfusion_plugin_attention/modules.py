"""Attention modules on backbone feature maps ``[B, C, H, W]`` that keep the shape.

SE, ECA, CBAM and the spatial gate are timm's layers; the CBAM and spatial modules record their
sigmoid gate in ``attention_map`` ``[B, 1, H, W]`` (kept in the graph, so attention-supervision
losses can train it). ``transformer`` runs timm ViT blocks over the spatial tokens.
"""

from __future__ import annotations

import torch
from timm.layers import EcaModule, SEModule
from timm.layers.cbam import CbamModule, SpatialAttn
from timm.models.vision_transformer import Block
from torch import nn

from medfusion_core.errors import ConfigError


class GateRecorder(nn.Module):
    """Runs ``inner`` and keeps the output of its ``gate`` submodule as ``attention_map``."""

    def __init__(self, inner: nn.Module, gate: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.attention_map: torch.Tensor | None = None
        gate.register_forward_hook(self._record)

    def _record(self, _module: nn.Module, _args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        self.attention_map = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attended feature map, same shape as ``x``; sets ``attention_map`` ``[B, 1, H, W]``."""
        return self.inner(x)


def se(channels: int, *, rd_ratio: float = 1 / 16) -> nn.Module:
    """Squeeze-and-excitation channel attention (timm ``SEModule``)."""
    return SEModule(channels, rd_ratio=rd_ratio)


def eca(channels: int, *, kernel_size: int | None = None) -> nn.Module:
    """Efficient channel attention (timm ``EcaModule``); the kernel adapts to ``channels`` unless given."""
    if kernel_size is None:
        return EcaModule(channels=channels)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"attention eca: kernel_size must be a positive odd integer, got {kernel_size}")
    return EcaModule(kernel_size=kernel_size)


def cbam(channels: int, *, rd_ratio: float = 1 / 16, spatial_kernel_size: int = 7) -> GateRecorder:
    """CBAM: channel then spatial attention (timm ``CbamModule``); records the spatial gate."""
    module = CbamModule(channels, rd_ratio=rd_ratio, spatial_kernel_size=spatial_kernel_size)
    return GateRecorder(module, module.spatial.gate)


def spatial(channels: int, *, kernel_size: int = 7) -> GateRecorder:
    """Spatial attention gate from channel mean and max (timm ``SpatialAttn``); records the gate.

    ``channels`` is accepted for the common factory signature; the gate has no channel weights.
    """
    del channels
    module = SpatialAttn(kernel_size=kernel_size)
    return GateRecorder(module, module.gate)


class TransformerAttention(nn.Module):
    """Transformer blocks (timm ViT ``Block``) over the ``H * W`` spatial tokens of a feature map.

    A depthwise 3x3 convolution adds a position encoding that works for any map size.

    Args:
        channels: token width ``C``; must be divisible by ``num_heads``.
        depth: number of blocks.
        num_heads: attention heads.
        mlp_ratio: hidden width of each block's MLP relative to ``C``.
        drop_path: stochastic depth rate of the blocks.
    """

    def __init__(
        self,
        channels: int,
        *,
        depth: int = 1,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        if num_heads < 1 or channels % num_heads:
            raise ConfigError(
                f"attention transformer: {channels} channels are not divisible by num_heads={num_heads}; "
                "set model.backbone.attention.params.num_heads to a divisor"
            )
        self.position = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.blocks = nn.Sequential(
            *(
                Block(channels, num_heads, mlp_ratio=mlp_ratio, qkv_bias=True, drop_path=drop_path)
                for _ in range(depth)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map after self-attention over its spatial positions, same shape as ``x``."""
        batch, channels, height, width = x.shape
        x = x + self.position(x)
        tokens = self.blocks(x.flatten(2).transpose(1, 2))
        return tokens.transpose(1, 2).reshape(batch, channels, height, width)
