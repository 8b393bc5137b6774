"""A timm model behind the MedFusion backbone contract, and the factory that builds one.

The wrapper exposes ``forward_features(x) -> [B, C, h, w]`` (the spatial feature map),
``pool(feature_map) -> [B, out_features]`` (timm's own head up to its pre-logits features) and
``forward(x) = pool(forward_features(x))``. ViT and Swin plugins subclass it to convert their
token layouts; this module is shared by every timm-based backbone plugin. The feature map passes
through ``feature_tap`` (an identity without weights), the layer Grad-CAM reads for CNNs.
"""

from __future__ import annotations

import difflib
import fnmatch
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import timm
import torch
from torch import nn

from medfusion_core.errors import ComponentNotFoundError, ConfigError
from medfusion_core.kinds.backbone import CamTarget
from medfusion_plugin_cnn.weights import load_pretrained


class TimmBackbone(nn.Module):
    """A headless timm model; pooled features equal timm's ``forward_head(..., pre_logits=True)``.

    Attributes:
        model: the wrapped timm model (``num_classes=0``).
        feature_channels: channels of the map returned by :meth:`forward_features`.
        out_features: width of the pooled features returned by :meth:`forward`.
        feature_tap: identity module the feature map passes through (the Grad-CAM target).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.feature_channels: int = int(model.num_features)
        self.out_features: int = int(getattr(model, "head_hidden_size", None) or model.num_features)
        self.feature_tap = nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial feature map ``[B, feature_channels, h, w]`` of images ``[B, C, H, W]``."""
        return self.feature_tap(self.model.forward_features(x))

    def cam_target(self) -> CamTarget:
        """Grad-CAM reads the last stage's feature map (through ``feature_tap``)."""
        return CamTarget(self.feature_tap)

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, out_features]`` of a map from :meth:`forward_features`."""
        return self.model.forward_head(feature_map, pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, out_features]`` of images ``[B, C, H, W]``."""
        return self.pool(self.forward_features(x))

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute activations in the backward pass to save memory (timm's implementation)."""
        self.model.set_grad_checkpointing(enable)


W = TypeVar("W", bound=TimmBackbone)


def create_timm_backbone(
    name: str,
    *,
    families: Sequence[str],
    wrapper: type[W],
    modules: Sequence[str] | None = None,
    in_chans: int,
    pretrained: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> W:
    """Build timm model ``name`` (headless, random init) wrapped in ``wrapper``.

    ``families`` are the globs of timm names the calling plugin serves (``resnet*``), used to
    suggest close names for a name timm does not know; ``defaults`` are keyword arguments the
    wrapper needs, overridable by ``params`` (values ``None`` are left to timm); ``modules``,
    when given, are the timm model modules (``vision_transformer``) whose classes the wrapper
    understands.
    ``pretrained`` is a local weights file loaded with
    :func:`~medfusion_plugin_cnn.weights.load_pretrained`; nothing is ever downloaded.
    """
    if not timm.is_model(name):
        family = next((f for f in families if fnmatch.fnmatchcase(name, f)), families[0])
        close = difflib.get_close_matches(name, timm.list_models(family), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        raise ComponentNotFoundError(
            f"backbone {name!r} is not a timm model; {hint}see timm.list_models({family!r})"
        )
    if modules is not None and not timm.models.is_model_in_modules(name, modules):
        raise ConfigError(
            f"backbone {name!r} is a timm model of another architecture than {', '.join(modules)}; "
            f"choose a name from timm.list_models({families[0]!r}) of that architecture"
        )
    kwargs = {**(defaults or {}), **{k: v for k, v in (params or {}).items() if v is not None}}
    try:
        model = timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans, **kwargs)
    except TypeError as exc:
        raise ConfigError(
            f"backbone {name!r} rejected its parameters {sorted(kwargs)} ({exc}); fix model.backbone.params"
        ) from exc
    if pretrained is not None:
        cfg = model.pretrained_cfg
        classifier = cfg.get("classifier")
        first_conv = cfg.get("first_conv")
        load_pretrained(
            model,
            pretrained,
            in_chans=in_chans,
            first_conv=first_conv if isinstance(first_conv, str) else None,
            classifier_prefixes=(classifier,) if isinstance(classifier, str) else tuple(classifier or ()),
            filter_fn=getattr(sys.modules[type(model).__module__], "checkpoint_filter_fn", None),
        )
    return wrapper(model)
