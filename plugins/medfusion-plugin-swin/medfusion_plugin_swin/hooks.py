"""Plugin hooks: Swin and SwinV2 backbones, described by import strings (no torch import here)."""

from __future__ import annotations

from medfusion_plugin_cnn.specs import timm_backbone_specs

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_plugin_swin.catalog import FAMILIES, NAMES

_MODULE = "medfusion_plugin_swin.backbones"

_PARAMS = {
    "img_size": Param("int", 224, "input image size (e.g. 64 for small inputs)"),
    "window_size": Param("int", 7, "attention window size; clamped to each stage's map size"),
    "drop_rate": Param("float", 0.0, "dropout on the pooled features"),
    "drop_path_rate": Param("float", 0.0, "stochastic depth rate"),
    "attn_drop_rate": Param("float", 0.0, "dropout on attention weights"),
    "embed_dim": Param("int", None, "width of the first stage (default: the named model's)"),
    "depths": Param(
        "list", None, "blocks per stage, e.g. [2, 2]; odd blocks shift windows (default: model's)"
    ),
    "num_heads": Param("list", None, "attention heads per stage, one per entry of depths (default: model's)"),
}


@hookimpl
def medfusion_register_backbones() -> list[ComponentSpec]:
    """Swin/SwinV2 names plus ``swin_*`` and ``swinv2_*`` family patterns."""
    return timm_backbone_specs(_MODULE, NAMES, FAMILIES, _PARAMS, "any timm Swin model of this family")
