"""Swin and SwinV2 backbones (timm) with the feature map in NCHW.

timm's Swin and SwinV2 return channels-last maps ``[B, H, W, C]`` (``output_fmt == "NHWC"``);
the wrapper permutes them to ``[B, C, H, W]`` and back before timm's own pooling head, so the
pooled features are exactly timm's pre-logits features. SwinV2-CR is already NCHW.
``img_size`` and ``window_size`` pass through; timm clamps windows larger than a stage's map,
so 64x64 inputs work with the default windows.

``attention_maps`` reads the last block's window attention (Swin v1: the attention each token
receives inside its window, heads averaged, windows and the cyclic shift undone); SwinV2's
cosine attention is not read (``None``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from medfusion_plugin_cnn.timm_backbone import TimmBackbone, create_timm_backbone
from timm.models.swin_transformer import WindowAttention
from torch import nn

from medfusion_plugin_swin.catalog import FAMILIES, NAMES


def window_attention(attn: WindowAttention, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The attention weights ``[windows, heads, N, N]`` that timm's ``WindowAttention`` applies to
    windows ``x [windows, N, C]`` (relative position bias and the shifted-window ``mask``)."""
    windows, tokens, _ = x.shape
    qkv = attn.qkv(x).reshape(windows, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
    logits = (qkv[0] * attn.scale) @ qkv[1].transpose(-2, -1) + attn._get_rel_pos_bias()
    if mask is not None:
        logits = logits.view(-1, mask.shape[0], attn.num_heads, tokens, tokens) + mask[None, :, None]
    return logits.reshape(windows, attn.num_heads, tokens, tokens).softmax(dim=-1)


class SwinBackbone(TimmBackbone):
    """A timm Swin/SwinV2 model whose feature map is returned as ``[B, C, h, w]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.channels_last: bool = getattr(model, "output_fmt", "NCHW") == "NHWC"

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Final-stage feature map ``[B, C, H/32, W/32]``."""
        features = self.model.forward_features(x)
        return self.feature_tap(features.permute(0, 3, 1, 2) if self.channels_last else features)

    def attention_maps(self, images: torch.Tensor) -> torch.Tensor | None:
        """The last block's attention ``[B, h, w]`` on the final-stage grid: per token, the mean
        attention it receives from the tokens of its window; ``None`` for SwinV2 models."""
        block = self.model.layers[-1].blocks[-1]
        if not isinstance(getattr(block, "attn", None), WindowAttention):
            return None
        seen: dict[str, torch.Tensor | None] = {}

        def keep(_module: nn.Module, args: tuple, kwargs: dict, _out: torch.Tensor) -> None:
            seen["x"], seen["mask"] = args[0], kwargs.get("mask", args[1] if len(args) > 1 else None)

        handle = block.attn.register_forward_hook(keep, with_kwargs=True)
        try:
            height, width = self.forward_features(images).shape[2:]
        finally:
            handle.remove()
        received = window_attention(block.attn, seen["x"], seen["mask"]).mean(dim=(1, 2))
        wh, ww = block.window_size
        rows, cols = -(-height // wh), -(-width // ww)
        grid = received.view(-1, rows, cols, wh, ww).permute(0, 1, 3, 2, 4).reshape(-1, rows * wh, cols * ww)
        return torch.roll(grid[:, :height, :width], shifts=tuple(block.shift_size), dims=(1, 2))

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """timm's pooling head (pre-logits) applied to the map in the model's own layout."""
        native = feature_map.permute(0, 2, 3, 1) if self.channels_last else feature_map
        return self.model.forward_head(native, pre_logits=True)


def create(name: str, *, in_chans: int, pretrained: str | Path | None = None, **params: Any) -> SwinBackbone:
    """Build the timm Swin/SwinV2 ``name`` as a MedFusion backbone."""
    return create_timm_backbone(
        name,
        families=list(FAMILIES),
        wrapper=SwinBackbone,
        modules=("swin_transformer", "swin_transformer_v2", "swin_transformer_v2_cr"),
        in_chans=in_chans,
        pretrained=pretrained,
        params=params,
    )


named = SimpleNamespace(**{name: partial(create, name) for name in NAMES})
