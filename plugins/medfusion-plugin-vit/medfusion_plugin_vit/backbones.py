"""ViT and DeiT backbones (timm ``VisionTransformer``) whose patch tokens form the feature map.

The wrapped model uses average pooling over the patch tokens (``global_pool="avg"``) with the
final norm applied to every token (``fc_norm=False``), so pooling the spatial map gives exactly
timm's pre-logits features and standard checkpoints (``norm.weight``) load unchanged. Distilled
DeiT models require timm's ``token`` pooling to build; their feature map and pooling are the same
patch-token mean (the class and distillation tokens are dropped).

Grad-CAM reads the tokens entering the last block's attention (``blocks[-1].norm1``), where the
patch tokens still mix through attention before pooling; ``attention_maps`` reads that attention
itself (the class token's attention to the patches, heads averaged).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from medfusion_plugin_cnn.timm_backbone import TimmBackbone, create_timm_backbone

from medfusion_core.kinds.backbone import CamTarget
from medfusion_plugin_vit.catalog import FAMILIES, NAMES

_DEFAULTS = {"global_pool": "avg", "fc_norm": False}
_DISTILLED_DEFAULTS = {"global_pool": "token", "fc_norm": False}

#: timm modules holding plain ``VisionTransformer`` models (hybrids and ROPE variants differ).
_MODULES = ("vision_transformer", "deit")


class ViTBackbone(TimmBackbone):
    """A timm ``VisionTransformer`` whose patch tokens are reshaped to ``[B, D, H/p, W/p]``."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens after the final norm, as a map ``[B, D, H/p, W/p]``."""
        return self.tokens_to_map(self.model.forward_features(x), tuple(x.shape[-2:]))

    def tokens_to_map(self, tokens: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
        """Tokens ``[B, N, D]`` (prefix tokens first) of images of ``size`` ``(H, W)`` as the patch
        map ``[B, D, H/p, W/p]``."""
        patches = tokens[:, self.model.num_prefix_tokens :]
        patch_h, patch_w = self.model.patch_embed.patch_size
        grid = (size[0] // patch_h, size[1] // patch_w)
        return patches.transpose(1, 2).reshape(patches.shape[0], patches.shape[2], *grid)

    def cam_target(self) -> CamTarget:
        """The tokens entering the last block's attention, as a patch map."""
        return CamTarget(self.model.blocks[-1].norm1, self.tokens_to_map)

    def attention_maps(self, images: torch.Tensor) -> torch.Tensor:
        """The last block's attention ``[B, H/p, W/p]`` (heads averaged): the class token's attention
        to each patch, or the mean attention a patch receives when the model has no prefix token."""
        block = self.model.blocks[-1]
        seen: list[torch.Tensor] = []
        handle = block.norm1.register_forward_hook(lambda _m, _i, out: seen.append(out))
        try:
            self.model.forward_features(images)
        finally:
            handle.remove()
        x, attn = seen[0], block.attn
        batch, tokens, _ = x.shape
        qkv = attn.qkv(x).reshape(batch, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
        weights = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1).mean(dim=1)
        prefix = self.model.num_prefix_tokens
        received = weights[:, 0, prefix:] if prefix else weights.mean(dim=1)
        return self.tokens_to_map(
            torch.cat([weights.new_zeros(batch, prefix), received], dim=1)[..., None],
            tuple(images.shape[-2:]),
        )[:, 0]

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
