"""Swin and SwinV2 backbones (timm) with the feature map in NCHW.

timm's Swin and SwinV2 return channels-last maps ``[B, H, W, C]`` (``output_fmt == "NHWC"``);
the wrapper permutes them to ``[B, C, H, W]`` and back before timm's own pooling head, so the
pooled features are exactly timm's pre-logits features. SwinV2-CR is already NCHW.
``img_size`` and ``window_size`` pass through; timm clamps windows larger than a stage's map,
so 64x64 inputs work with the default windows.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from medfusion_plugin_cnn.timm_backbone import TimmBackbone, create_timm_backbone
from torch import nn

from medfusion_plugin_swin.catalog import FAMILIES, NAMES


class SwinBackbone(TimmBackbone):
    """A timm Swin/SwinV2 model whose feature map is returned as ``[B, C, h, w]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.channels_last: bool = getattr(model, "output_fmt", "NCHW") == "NHWC"

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Final-stage feature map ``[B, C, H/32, W/32]``."""
        features = self.model.forward_features(x)
        return self.feature_tap(features.permute(0, 3, 1, 2) if self.channels_last else features)

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
