"""Plugin hooks: ViT and DeiT backbones, described by import strings (no torch import here)."""

from __future__ import annotations

from medfusion_plugin_cnn.specs import timm_backbone_specs

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_plugin_vit.catalog import FAMILIES, NAMES

_MODULE = "medfusion_plugin_vit.backbones"

_PARAMS = {
    "img_size": Param("int", 224, "input image size (position embeddings are sized for it)"),
    "dynamic_img_size": Param("bool", False, "accept any input size by interpolating position embeddings"),
    "drop_rate": Param("float", 0.0, "dropout on the pooled features"),
    "drop_path_rate": Param("float", 0.0, "stochastic depth rate"),
    "attn_drop_rate": Param("float", 0.0, "dropout on attention weights"),
}


@hookimpl
def medfusion_register_backbones() -> list[ComponentSpec]:
    """ViT/DeiT names plus ``vit_*``, ``deit_*`` and ``deit3_*`` family patterns."""
    return timm_backbone_specs(_MODULE, NAMES, FAMILIES, _PARAMS, "any timm VisionTransformer of this family")
