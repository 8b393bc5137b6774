"""Backbone specs for a timm model catalogue (shared by the vit and swin plugins; no torch import)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from medfusion_core import ComponentSpec, Param
from medfusion_core.kinds.backbone import BackboneInfo


def timm_backbone_specs(
    module: str,
    names: Iterable[str],
    families: Mapping[str, str],
    params: Mapping[str, Param],
    family_summary: str,
) -> list[ComponentSpec]:
    """One spec per explicit timm ``names`` (factory ``module:named.<name>``) and one per family
    pattern of ``families`` (pattern -> example name; factory ``module:create``), all taking
    ``params``."""
    specs = [
        ComponentSpec(name, "backbone", f"{module}:named.{name}", f"timm {name}", params) for name in names
    ]
    specs += [
        ComponentSpec(
            pattern,
            "backbone",
            f"{module}:create",
            family_summary,
            params,
            info=BackboneInfo(examples=[example]),
        )
        for pattern, example in families.items()
    ]
    return specs
