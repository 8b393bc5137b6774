"""Plugin hooks: attention modules and attention-supervision losses (no torch import here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl

_MODULES = "medfusion_plugin_attention.modules"
_LOSSES = "medfusion_plugin_attention.losses"

_RD_RATIO = Param("float", 1 / 16, "reduction ratio of the channel MLP")
_MODE = Param("str", "bce", "pixel-wise binary cross-entropy or soft Dice", choices=("bce", "dice"))


@hookimpl
def medfusion_register_attention() -> list[ComponentSpec]:
    """SE, ECA, CBAM, spatial and transformer attention on ``[B, C, H, W]`` feature maps."""
    return [
        ComponentSpec("se", "attention", f"{_MODULES}:se", "squeeze-and-excitation channel attention",
                      {"rd_ratio": _RD_RATIO}),
        ComponentSpec("eca", "attention", f"{_MODULES}:eca", "efficient channel attention (1D conv)",
                      {"kernel_size": Param("int", None, "odd kernel size; default adapts to channels")}),
        ComponentSpec("cbam", "attention", f"{_MODULES}:cbam", "CBAM channel + spatial gate (attention_map)",
                      {"rd_ratio": _RD_RATIO, "spatial_kernel_size": Param("int", 7, "spatial gate kernel")}),
        ComponentSpec("spatial", "attention", f"{_MODULES}:spatial", "spatial attention gate (attention_map)",
                      {"kernel_size": Param("int", 7, "gate convolution kernel")}),
        ComponentSpec("transformer", "attention", f"{_MODULES}:TransformerAttention",
                      "transformer blocks over the spatial tokens",
                      {"depth": Param("int", 1, "number of blocks"),
                       "num_heads": Param("int", 4, "attention heads (must divide the channels)"),
                       "mlp_ratio": Param("float", 2.0, "MLP hidden width / channels"),
                       "drop_path": Param("float", 0.0, "stochastic depth rate")}),
    ]  # fmt: skip


@hookimpl
def medfusion_register_losses() -> list[ComponentSpec]:
    """Attention supervision: mask-guided, CAM and consistency losses."""
    return [
        ComponentSpec("mask_guided", "loss", f"{_LOSSES}:MaskGuidedLoss",
                      "attention map vs lesion mask (masks resized to the map)", {"mode": _MODE}),
        ComponentSpec("cam", "loss", f"{_LOSSES}:CamLoss",
                      "class activation map (features x head weights) vs lesion mask", {"mode": _MODE}),
        ComponentSpec("consistency", "loss", f"{_LOSSES}:ConsistencyLoss",
                      "agreement between attention maps of two views or augmentations", {}),
    ]  # fmt: skip
