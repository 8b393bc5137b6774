"""What this plugin offers, as plain data (no torch import): timm families and their names.

``hooks.py`` turns this into component specs; ``backbones.py`` builds the factories.
"""

from __future__ import annotations

from typing import NamedTuple


class Family(NamedTuple):
    """A timm CNN family: its glob, explicit names, an example family member, and whether the
    models accept ``drop_path_rate``."""

    pattern: str
    title: str
    names: tuple[str, ...]
    example: str
    drop_path: bool = True


FAMILIES: tuple[Family, ...] = (
    Family("resnet*", "ResNet", ("resnet18", "resnet34", "resnet50"), "resnet10t"),
    Family(
        "efficientnet*",
        "EfficientNet",
        ("efficientnet_b0", "efficientnet_b1", "efficientnet_b2"),
        "efficientnet_lite0",
    ),
    Family(
        "convnext*",
        "ConvNeXt",
        ("convnext_atto", "convnext_femto", "convnext_nano", "convnext_tiny"),
        "convnext_pico",
    ),
    Family("densenet*", "DenseNet", ("densenet121",), "densenet169", drop_path=False),
    Family(
        "mobilenetv3*",
        "MobileNetV3",
        ("mobilenetv3_small_100", "mobilenetv3_large_100"),
        "mobilenetv3_small_050",
    ),
    Family("regnet*", "RegNet", ("regnetx_002", "regnety_002"), "regnetx_004"),
)

#: Explicitly registered 3D ResNets (the ``resnet3d_*`` family resolves the same depths).
RESNET3D_NAMES: tuple[str, ...] = ("resnet3d_10", "resnet3d_18", "resnet3d_34")
