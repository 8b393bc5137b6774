"""Assembles the multimodal model from registered components.

``build_model(config, clinical_features=F, num_outputs=K)`` builds, through the registry:

- the image branch: the backbone (``model.backbone``) applied to every view as one batch of
  ``B * V`` images, an optional attention module (``model.backbone.attention``) on the backbone's
  feature map before pooling, and the aggregator (``model.aggregator``) over the views;
- the clinical branch: an MLP (``model.tabular``) on the preprocessed clinical vector;
- the fusion (``model.fusion``) of ``{"image": ..., "clinical": ...}`` under the modality mask;
- the head (``model.head``): an MLP ending in ``num_outputs`` units.

``model.modalities`` switches to the unimodal baselines with the same config: ``"image"`` keeps
backbone + aggregator + head, ``"clinical"`` keeps the tabular MLP + head (see
:func:`with_modalities`).

``MultimodalModel.forward(images, view_mask, clinical, modality_mask)`` takes positional tensors
only (``images [B, V, C, H, W]`` or ``[B, V, C, D, H, W]``, ``view_mask [B, V]`` bool,
``clinical [B, F]``, ``modality_mask [B, 2]`` bool = (image present, clinical present)) and
returns ``[B, num_outputs]``, so it exports with ``torch.export`` and to ONNX. Padded views and a
missing clinical row are replaced by zeros on entry (so NaN there cannot reach the output or
the gradients), and the image counts as missing when the patient has no view.
In training mode only the present views go through the backbone (so padding does not enter the
batch-norm statistics); in eval mode every view slot does (static shapes for export).
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import torch
from torch import nn

from medfusion_core.components import zero_masked
from medfusion_core.config import ExperimentConfig, HeadConfig, TabularConfig
from medfusion_core.errors import ConfigError, MedFusionError
from medfusion_core.kinds.attention import AttentionInfo
from medfusion_core.kinds.backbone import BackboneInfo
from medfusion_core.registry import get_registry

MODALITIES = ("fused", "image", "clinical")
#: The batch entries the model takes, in the order of :meth:`MultimodalModel.forward`'s arguments.
MODEL_INPUTS = ("images", "view_mask", "clinical", "modality_mask")


def _create(kind: str, path: str, name: str, *args: Any, params: dict[str, Any], **fixed: Any) -> Any:
    """``registry.create`` whose failures become :class:`ConfigError` naming the config path."""
    try:
        return get_registry().create(kind, name, *args, **fixed, **params)
    except ConfigError as exc:
        raise ConfigError(f"{_param_path(path, params, str(exc))}: {kind} {name!r}: {exc}") from exc
    except MedFusionError as exc:
        raise ConfigError(f"{path}.name: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{_param_path(path, params, str(exc))}: {kind} {name!r} rejected its parameters ({exc}); "
            f"see 'medfusion info {name}'"
        ) from exc


def _param_path(path: str, params: dict[str, Any], message: str) -> str:
    """``path.params.<key>`` for the first given parameter the message names, else ``path.params``."""
    for key in params:
        if re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", message):
            return f"{path}.params.{key}"
    return f"{path}.params"


def mlp(in_features: int, hidden: list[int], dropout: float) -> tuple[nn.Sequential, int]:
    """``(Linear -> ReLU -> Dropout)`` per hidden width; returns the module and its output width."""
    layers: list[nn.Module] = []
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
        width = size
    return nn.Sequential(*layers), width


def _check_widths(path: str, widths: list[int], dropout: float) -> None:
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ConfigError(f"{path}.hidden: widths must be positive integers, got {widths!r}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"{path}.dropout: must be in [0, 1), got {dropout!r}")


def _check_attention_dims(backbone: str, attention: str) -> None:
    """Attention modules declare the feature-map dimensionalities they handle
    (:class:`~medfusion_core.kinds.attention.AttentionInfo` ``dims``, default 2); refuse a pairing
    that would fail at the first batch."""
    registry = get_registry()
    try:
        backbone_info = registry.resolve("backbone", backbone).info
        attention_info = registry.resolve("attention", attention).info
    except MedFusionError:
        return  # reported with its config path when the component is built
    if not isinstance(backbone_info, BackboneInfo) or not isinstance(attention_info, AttentionInfo):
        return
    dims = backbone_info.dims
    if not attention_info.handles(dims):
        handled = attention_info.to_json().get("dims", attention_info.dims)
        raise ConfigError(
            f"model.backbone.attention.name: attention {attention!r} works on {handled}D feature maps "
            f"but backbone {backbone!r} is {dims}D; remove it or pick a {dims}D one"
        )


class TabularEncoder(nn.Module):
    """MLP encoder of the preprocessed clinical vector (``model.tabular``)."""

    def __init__(self, clinical_features: int, config: TabularConfig) -> None:
        super().__init__()
        _check_widths("model.tabular", list(config.hidden), config.dropout)
        self.mlp, self.out_features = mlp(clinical_features, list(config.hidden), config.dropout)

    def forward(self, clinical: torch.Tensor) -> torch.Tensor:
        """``[B, F]`` -> ``[B, out_features]``."""
        return self.mlp(clinical)


class Head(nn.Module):
    """Prediction head (``model.head``): hidden layers then ``num_outputs`` units."""

    def __init__(self, in_features: int, num_outputs: int, config: HeadConfig) -> None:
        super().__init__()
        _check_widths("model.head", list(config.hidden), config.dropout)
        body, width = mlp(in_features, list(config.hidden), config.dropout)
        self.mlp = nn.Sequential(*body, nn.Linear(width, num_outputs))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, D]`` -> ``[B, num_outputs]``."""
        return self.mlp(features)


def _scatter(values: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Rows of ``values`` placed at the True positions of ``present [N]``; zeros elsewhere."""
    full = values.new_zeros((present.shape[0], *values.shape[1:]))
    full[present] = values
    return full


class ImageEncoder(nn.Module):
    """Backbone on every view, optional attention on the feature map, aggregator over views."""

    def __init__(self, config: ExperimentConfig) -> None:
        super().__init__()
        model = config.model
        bb = model.backbone
        self.backbone = _create(
            "backbone", "model.backbone", bb.name, params=dict(bb.params),
            in_chans=config.data.image.channels, pretrained=bb.pretrained,
        )  # fmt: skip
        for attribute in ("out_features", "feature_channels", "forward_features", "pool"):
            if not hasattr(self.backbone, attribute):
                raise ConfigError(
                    f"model.backbone.name: backbone {bb.name!r} lacks {attribute!r} of the backbone "
                    "contract; update its plugin"
                )
        if bb.grad_checkpointing:
            if not hasattr(self.backbone, "set_grad_checkpointing"):
                raise ConfigError(
                    f"model.backbone.grad_checkpointing: backbone {bb.name!r} does not support gradient "
                    "checkpointing; set it to false"
                )
            self.backbone.set_grad_checkpointing(True)
        self.attention: nn.Module | None = None
        if bb.attention is not None:
            _check_attention_dims(bb.name, bb.attention.name)
            self.attention = _create(
                "attention", "model.backbone.attention", bb.attention.name, self.backbone.feature_channels,
                params=dict(bb.attention.params),
            )  # fmt: skip
        self.aggregator = _create(
            "aggregator", "model.aggregator", model.aggregator.name, self.backbone.out_features,
            params=dict(model.aggregator.params),
        )  # fmt: skip
        self.out_features: int = self.aggregator.out_features

    def _encode_views(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``[N, C, ...]`` -> (feature map, pooled features ``[N, D]``)."""
        feature_map = self.backbone.forward_features(flat)
        if self.attention is not None:
            feature_map = self.attention(feature_map)
        return feature_map, self.backbone.pool(feature_map)

    def forward(self, images: torch.Tensor, view_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"features" [B, D], "feature_map" [B, V, C, ...], "view_weights"?, "attention_maps"?}``."""
        batch, views = images.shape[:2]
        flat = images.flatten(0, 1)
        present = view_mask.flatten()
        if self.training and bool(present.any()):
            feature_map, pooled = (_scatter(t, present) for t in self._encode_views(flat[present]))
            attention_map = self._attention_map()
            if attention_map is not None:
                attention_map = _scatter(attention_map, present)
        else:
            feature_map, pooled = self._encode_views(flat)
            attention_map = self._attention_map()
        out = {
            "features": self.aggregator(pooled.reshape(batch, views, -1), view_mask),
            "feature_map": feature_map.reshape(batch, views, *feature_map.shape[1:]),
        }
        if attention_map is not None:
            out["attention_maps"] = attention_map.reshape(batch, views, *attention_map.shape[1:])
        view_weights = getattr(self.aggregator, "view_weights", None)
        if view_weights is not None:
            out["view_weights"] = view_weights
        return out

    def _attention_map(self) -> torch.Tensor | None:
        return getattr(self.attention, "attention_map", None) if self.attention is not None else None


class MultimodalModel(nn.Module):
    """Image branch + clinical branch + fusion + head, per ``model.modalities``.

    Attributes: ``modalities`` ("fused" | "image" | "clinical"), ``num_outputs``,
    ``clinical_features``, and the submodules ``image_encoder``, ``tabular``, ``fusion``,
    ``head`` (``None`` where the modality switch leaves them out).
    """

    def __init__(self, config: ExperimentConfig, *, clinical_features: int, num_outputs: int) -> None:
        super().__init__()
        modalities = config.model.modalities
        if modalities not in MODALITIES:
            raise ConfigError(f"model.modalities: expected one of {list(MODALITIES)}, got {modalities!r}")
        if isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or num_outputs < 1:
            raise ConfigError(f"task: the model needs at least one output, got num_outputs={num_outputs!r}")
        if modalities != "image" and clinical_features < 1:
            raise ConfigError(
                f"model.modalities: {modalities!r} needs clinical features but data.numeric and "
                "data.categorical give none; add clinical columns or use modalities: image"
            )
        self.modalities = modalities
        self.num_outputs = num_outputs
        self.clinical_features = clinical_features
        self.image_encoder = ImageEncoder(config) if modalities != "clinical" else None
        self.tabular = (
            TabularEncoder(clinical_features, config.model.tabular) if modalities != "image" else None
        )
        self.fusion: nn.Module | None = None
        if self.image_encoder is not None and self.tabular is not None:
            widths = {"image": self.image_encoder.out_features, "clinical": self.tabular.out_features}
            fusion = config.model.fusion
            self.fusion = _create("fusion", "model.fusion", fusion.name, widths, params=dict(fusion.params))
            width = self.fusion.out_features
        elif self.image_encoder is not None:
            width = self.image_encoder.out_features
        else:
            assert self.tabular is not None
            width = self.tabular.out_features
        self.head = Head(width, num_outputs, config.model.head)

    def forward(
        self,
        images: torch.Tensor,
        view_mask: torch.Tensor,
        clinical: torch.Tensor,
        modality_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Logits (or regression outputs) ``[B, num_outputs]``."""
        return self.forward_with_extras(images, view_mask, clinical, modality_mask)["logits"]

    def forward_with_extras(
        self,
        images: torch.Tensor,
        view_mask: torch.Tensor,
        clinical: torch.Tensor,
        modality_mask: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """``{"logits", "feature_map"?, "attention_maps"?, "view_weights"?}`` (image parts only when
        the model has an image branch and the components provide them)."""
        extras: dict[str, torch.Tensor] = {}
        features: dict[str, torch.Tensor] = {}
        image_present = modality_mask[:, 0] & view_mask.any(dim=1)
        clinical_present = modality_mask[:, 1]
        if self.image_encoder is not None:
            shape = (*view_mask.shape, *([1] * (images.ndim - 2)))
            images = torch.where(view_mask.view(shape), images, torch.zeros((), dtype=images.dtype))
            extras = self.image_encoder(images, view_mask)
            features["image"] = zero_masked(extras.pop("features"), image_present)
        if self.tabular is not None:
            features["clinical"] = self.tabular(zero_masked(clinical, clinical_present))
        if self.fusion is not None:
            fused = self.fusion(features, torch.stack([image_present, clinical_present], dim=1))
        else:
            (fused,) = features.values()
            if self.tabular is not None:
                fused = zero_masked(fused, clinical_present)
        return {"logits": self.head(fused), **extras}

    def component_labels(self, config: ExperimentConfig) -> dict[str, str]:
        """Sub-module paths of this model -> the names ``config`` gives them (for error messages
        that name the component at fault); only the sub-modules this variant has."""
        model = config.model
        labels = {
            "image_encoder.backbone": f"backbone {model.backbone.name!r}",
            "image_encoder.aggregator": f"aggregator {model.aggregator.name!r}",
            "fusion": f"fusion {model.fusion.name!r}",
            "tabular": "the tabular encoder (model.tabular)",
            "head": "the head (model.head)",
        }
        if model.backbone.attention is not None:
            labels["image_encoder.attention"] = f"attention {model.backbone.attention.name!r}"
        present = {name for name, _ in self.named_modules()}
        return {path: label for path, label in labels.items() if path in present}


def build_model(config: ExperimentConfig, *, clinical_features: int, num_outputs: int) -> MultimodalModel:
    """Build the model the config describes; component errors become :class:`ConfigError`
    naming the dotted config path (e.g. ``model.fusion.params.hidden``)."""
    return MultimodalModel(config, clinical_features=clinical_features, num_outputs=num_outputs)


def num_outputs_for(config: ExperimentConfig, num_classes: int | None = None) -> int:
    """Output width for the task: 1 for binary and regression, the class count for multiclass
    (``num_classes`` from the data, else ``task.classes``)."""
    if config.task.type != "multiclass":
        return 1
    count = num_classes if num_classes is not None else len(config.task.classes or [])
    if count < 2:
        raise ConfigError(
            "task.classes: a multiclass task needs at least 2 classes; list them in task.classes"
        )
    return count


def with_modalities(config: ExperimentConfig, modalities: str, *, rename: bool = True) -> ExperimentConfig:
    """The same experiment with ``model.modalities`` switched (for the unimodal baselines).

    With ``rename`` the experiment name gets a ``-<modalities>`` suffix so that the baseline's run
    directory does not collide with the fused run's (no suffix for ``"fused"``).
    """
    if modalities not in MODALITIES:
        raise ConfigError(f"model.modalities: expected one of {list(MODALITIES)}, got {modalities!r}")
    model = attrs.evolve(config.model, modalities=modalities)
    name = f"{config.name}-{modalities}" if rename and modalities != "fused" else config.name
    return attrs.evolve(config, model=model, name=name)
