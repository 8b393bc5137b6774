"""Grad-CAM and Grad-CAM++ for every image view of a fused model (2D and 3D).

The layer read is the backbone's :meth:`~medfusion_core.kinds.backbone.Backbone.cam_target` when
it has one (chosen per backbone family by its plugin), else the feature map the image encoder
returns. Every view slot goes through the backbone in eval mode, so activations come as
``[B * V, C, *spatial]``; maps are upsampled to the input size and scaled to ``[0, 1]`` per view
(zeros for absent views).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from medfusion_core.errors import DataError
from medfusion_core.model import MODEL_INPUTS, MultimodalModel

#: Map methods, in the order files and tables show them.
METHODS = ("gradcam", "gradcampp")


def explained_score(logits: torch.Tensor, task: str, target_class: int | None = None) -> torch.Tensor:
    """The scalar explained per patient ``[B]``: the logit of the positive class (binary), of
    ``target_class`` or the predicted class (multiclass), or the prediction (regression)."""
    if task != "multiclass":
        return logits[:, 0]
    chosen = logits.argmax(dim=1) if target_class is None else torch.full_like(logits[:, 0], target_class)
    return logits.gather(1, chosen.long()[:, None])[:, 0]


def image_encoder(model: MultimodalModel) -> Any:
    """The model's image encoder; a :class:`DataError` for a clinical-only variant."""
    if model.image_encoder is None:
        raise DataError("the clinical-only variant has no image branch to explain; explain fused or image")
    return model.image_encoder


@contextlib.contextmanager
def evaluation(model: MultimodalModel) -> Iterator[None]:
    """Run the block with ``model`` in eval mode (every view slot through the backbone, frozen
    normalisation statistics); its mode is restored afterwards."""
    training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(training)


def _weights(method: str, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Channel weights ``[N, C, 1...]``: mean gradient (Grad-CAM) or the Grad-CAM++ weighting of
    positive gradients by ``g^2 / (2 g^2 + sum(A) g^3)``."""
    spatial = tuple(range(2, activation.ndim))
    if method == "gradcam":
        return grad.mean(dim=spatial, keepdim=True)
    g2, g3 = grad.pow(2), grad.pow(3)
    denominator = 2 * g2 + activation.sum(dim=spatial, keepdim=True) * g3
    alpha = torch.where(denominator != 0, g2 / torch.where(denominator != 0, denominator, 1.0), 0.0)
    return (alpha * torch.relu(grad)).sum(dim=spatial, keepdim=True)


def upsample(maps: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Maps ``[N, *spatial]`` resized to ``size`` (bilinear, or trilinear for volumes)."""
    mode = "trilinear" if len(size) == 3 else "bilinear"
    return F.interpolate(maps[:, None].float(), size=tuple(size), mode=mode, align_corners=False)[:, 0]


def normalise(maps: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Each map ``[N, ...]`` divided by its maximum (non-negative maps), zero where ``present`` is
    False or the map is all zero."""
    peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, *([1] * (maps.ndim - 1)))
    return torch.where(present.view_as(peak), maps.clamp_min(0) / peak, 0.0)


def _activations(model: MultimodalModel, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """``(raw activation, logits, to_map)``: the target layer's output for every view slot, kept in
    the autograd graph, and how it becomes a spatial map."""
    backbone = image_encoder(model).backbone
    target = backbone.cam_target() if hasattr(backbone, "cam_target") else None
    seen: list[torch.Tensor] = []
    handle = target.module.register_forward_hook(lambda _m, _i, out: seen.append(out)) if target else None
    try:
        out = model.forward_with_extras(*(batch[key] for key in MODEL_INPUTS))
    finally:
        if handle is not None:
            handle.remove()
    if target is None:
        return out["feature_map"].flatten(0, 1), out["logits"], lambda tensor, _size: tensor
    return seen[-1], out["logits"], target.as_map


def class_activation_maps(
    model: MultimodalModel,
    batch: dict[str, Any],
    *,
    task: str,
    methods: Sequence[str] = METHODS,
    target_class: int | None = None,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``({method: maps [B, V, *spatial] in [0, 1]}, logits [B, K])`` for ``batch`` (computed in
    eval mode)."""
    images, view_mask = batch["images"], batch["view_mask"]
    batch_size, views = view_mask.shape
    size = tuple(images.shape[3:])
    with evaluation(model), torch.enable_grad():
        raw, logits, to_map = _activations(model, batch)
        (grad,) = torch.autograd.grad(explained_score(logits, task, target_class).sum(), raw)
    activation, grad = to_map(raw.detach(), size), to_map(grad, size)
    present = view_mask.flatten()
    maps = {}
    for method in methods:
        cam = torch.relu((_weights(method, activation, grad) * activation).sum(dim=1))
        maps[method] = normalise(upsample(cam, size), present).reshape(batch_size, views, *size)
    return maps, logits.detach()


def attention_read_out(model: MultimodalModel, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Attention maps ``[B, V, *spatial]`` in ``[0, 1]`` where the model has them: the backbone's own
    (``attention_maps``, transformers) as ``"backbone_attention"`` and the attention module's
    (``attention_map``) as ``"attention_module"``."""
    encoder = image_encoder(model)
    images, view_mask = batch["images"], batch["view_mask"]
    size, present = tuple(images.shape[3:]), view_mask.flatten()
    found: dict[str, torch.Tensor] = {}
    with evaluation(model), torch.no_grad():
        own = (
            encoder.backbone.attention_maps(images.flatten(0, 1))
            if hasattr(encoder.backbone, "attention_maps")
            else None
        )
        if own is not None:
            found["backbone_attention"] = own
        if encoder.attention is not None:
            extras = model.forward_with_extras(*(batch[key] for key in MODEL_INPUTS))
            if "attention_maps" in extras:
                found["attention_module"] = extras["attention_maps"].flatten(0, 1).mean(dim=1)
    return {
        name: normalise(upsample(maps, size), present).reshape(*view_mask.shape, *size)
        for name, maps in found.items()
    }
