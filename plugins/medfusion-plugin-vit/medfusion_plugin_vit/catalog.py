"""What this plugin offers, as plain data (no torch import)."""

from __future__ import annotations

#: timm name globs served by the family factory, each with an example member.
FAMILIES: dict[str, str] = {
    "vit_*": "vit_small_patch32_224",
    "deit_*": "deit_tiny_distilled_patch16_224",
    "deit3_*": "deit3_small_patch16_224",
}

#: Explicitly registered names.
NAMES: tuple[str, ...] = (
    "vit_tiny_patch16_224",
    "vit_small_patch16_224",
    "vit_base_patch16_224",
    "deit_tiny_patch16_224",
    "deit_small_patch16_224",
    "deit_base_patch16_224",
)
