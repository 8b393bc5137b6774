"""What this plugin offers, as plain data (no torch import)."""

from __future__ import annotations

#: timm name globs served by the family factory (``swin_*`` also covers ``swin_s3_*``), each with
#: an example member.
FAMILIES: dict[str, str] = {"swin_*": "swin_s3_tiny_224", "swinv2_*": "swinv2_cr_small_224"}

#: Explicitly registered names.
NAMES: tuple[str, ...] = (
    "swin_tiny_patch4_window7_224",
    "swin_small_patch4_window7_224",
    "swin_base_patch4_window7_224",
    "swinv2_tiny_window8_256",
    "swinv2_small_window8_256",
    "swinv2_cr_tiny_224",
)
