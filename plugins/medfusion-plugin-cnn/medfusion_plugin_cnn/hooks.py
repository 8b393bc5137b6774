"""Plugin hooks: the CNN backbones, described by import strings (no torch import here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_core.kinds.backbone import BackboneInfo
from medfusion_plugin_cnn.catalog import FAMILIES, RESNET3D_NAMES, Family

_MODULE = "medfusion_plugin_cnn.backbones"

_DROP_RATE = Param("float", 0.0, "dropout before the classifier (timm drop_rate)")
_DROP_PATH = Param("float", 0.0, "stochastic depth rate (timm drop_path_rate)")
_RESNET3D_PARAMS = {
    "base_width": Param("int", 64, "channels of the first stage, doubled at each stage"),
    "drop_rate": Param("float", 0.0, "dropout on the pooled features"),
}


def _params(family: Family) -> dict[str, Param]:
    return {"drop_rate": _DROP_RATE, **({"drop_path_rate": _DROP_PATH} if family.drop_path else {})}


@hookimpl
def medfusion_register_backbones() -> list[ComponentSpec]:
    """timm CNN families (explicit names plus ``<family>*`` patterns) and the 3D ResNets."""
    specs = [
        ComponentSpec(
            name, "backbone", f"{_MODULE}:named.{name}", f"timm {family.title} ({name})", _params(family)
        )
        for family in FAMILIES
        for name in family.names
    ]
    specs += [
        ComponentSpec(
            family.pattern,
            "backbone",
            f"{_MODULE}:create",
            f"any timm {family.title} model",
            _params(family),
            info=BackboneInfo(examples=[family.example]),
        )
        for family in FAMILIES
    ]
    specs += [
        ComponentSpec(
            name,
            "backbone",
            f"{_MODULE}:named.{name}",
            f"3D ResNet-{name.rpartition('_')[2]} for volumes",
            _RESNET3D_PARAMS,
            info=BackboneInfo(dims=3),
        )
        for name in RESNET3D_NAMES
    ]
    specs.append(
        ComponentSpec(
            "resnet3d_*",
            "backbone",
            "medfusion_plugin_cnn.resnet3d:create_resnet3d",
            "3D ResNet for volumes (depth 10, 18 or 34)",
            _RESNET3D_PARAMS,
            info=BackboneInfo(dims=3, examples=["resnet3d_10"]),
        )
    )
    return specs
