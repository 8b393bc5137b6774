"""Factories of the CNN backbones (imports torch and timm; loaded only when a config asks).

``create`` serves the family specs (``resnet*``) and receives the concrete timm name;
``named.<name>`` is the factory of each explicitly registered name.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from medfusion_plugin_cnn.catalog import FAMILIES, RESNET3D_NAMES
from medfusion_plugin_cnn.resnet3d import create_resnet3d
from medfusion_plugin_cnn.timm_backbone import TimmBackbone, create_timm_backbone


def create(name: str, *, in_chans: int, pretrained: str | Path | None = None, **params: Any) -> TimmBackbone:
    """Build the timm CNN ``name`` (any member of a registered family) as a MedFusion backbone."""
    return create_timm_backbone(
        name,
        families=[family.pattern for family in FAMILIES],
        wrapper=TimmBackbone,
        in_chans=in_chans,
        pretrained=pretrained,
        params=params,
    )


named = SimpleNamespace(
    **{name: partial(create, name) for family in FAMILIES for name in family.names},
    **{name: partial(create_resnet3d, name) for name in RESNET3D_NAMES},
)
