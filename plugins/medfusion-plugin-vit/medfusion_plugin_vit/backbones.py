"""ViT and DeiT backbones (timm ``VisionTransformer``) whose patch tokens form the feature map.

The wrapped model uses average pooling over the patch tokens (``global_pool="avg"``) with the
final norm applied to every token (``fc_norm=False``), so pooling the spatial map gives exactly
timm's pre-logits features and standard checkpoints (``norm.weight``) load unchanged. Distilled
DeiT models require timm's ``token`` pooling to build; their feature map and pooling are the same
patch-token mean (the class and distillation tokens are dropped).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from medfusion_plugin_cnn.timm_backbone import TimmBackbone, create_timm_backbone

from medfusion_plugin_vit.catalog import FAMILIES, NAMES

_DEFAULTS = {"global_pool": "avg", "fc_norm": False}
_DISTILLED_DEFAULTS = {"global_pool": "token", "fc_norm": False}

#: timm modules holding plain ``VisionTransformer`` models (hybrids and ROPE variants differ).
_MODULES = ("vision_transformer", "deit")


class ViTBackbone(TimmBackbone):
    """A timm ``VisionTransformer`` whose patch tokens are reshaped to ``[B, D, H/p, W/p]``."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens after the final norm, as a map ``[B, D, H/p, W/p]``."""
        tokens = self.model.forward_features(x)[:, self.model.num_prefix_tokens :]
        patch_h, patch_w = self.model.patch_embed.patch_size
        grid = (x.shape[-2] // patch_h, x.shape[-1] // patch_w)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], *grid)

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """Mean of the patch tokens (timm's ``avg`` pooling and pre-logits head)."""
        return self.model.head_drop(self.model.fc_norm(feature_map.mean(dim=(2, 3))))


def create(name: str, *, in_chans: int, pretrained: str | Path | None = None, **params: Any) -> ViTBackbone:
    """Build the timm ViT/DeiT ``name`` as a MedFusion backbone (``img_size`` passes through)."""
    return create_timm_backbone(
        name,
        families=list(FAMILIES),
        wrapper=ViTBackbone,
        modules=_MODULES,
        in_chans=in_chans,
        pretrained=pretrained,
        params=params,
        defaults=_DISTILLED_DEFAULTS if "distilled" in name else _DEFAULTS,
    )


named = SimpleNamespace(**{name: partial(create, name) for name in NAMES})
