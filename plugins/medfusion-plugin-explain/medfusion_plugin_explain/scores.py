"""How well a map agrees with a lesion mask: mass inside, pointing game and IoU."""

from __future__ import annotations

import torch

#: A map's binary region: where it rises this fraction of the way from its minimum to its maximum
#: (half its maximum for a map whose minimum is 0, as Grad-CAM's; a sigmoid attention gate never
#: reaches 0, and half its maximum would cover the whole image).
IOU_THRESHOLD = 0.5
#: Maps whose range is at most this fraction of their largest magnitude count as constant: they
#: point nowhere (e.g. a 1x1 feature map upsampled, equal up to rounding).
CONSTANT = 1e-6


def _range(saliency: torch.Tensor) -> tuple[float, float, bool]:
    """``(min, max, constant)`` of a map."""
    low, peak = float(saliency.min()), float(saliency.max())
    return low, peak, peak - low <= CONSTANT * max(abs(low), abs(peak), 1e-30)


def mass_inside(saliency: torch.Tensor, mask: torch.Tensor) -> float:
    """Fraction of the map's total mass inside ``mask > 0.5`` (NaN for an all-zero map)."""
    total = float(saliency.sum())
    return float((saliency * (mask > 0.5)).sum()) / total if total > 0 else float("nan")


def pointing_hit(saliency: torch.Tensor, mask: torch.Tensor) -> bool:
    """Whether the map's maximum lies inside the mask (the pointing game); never for a constant
    map."""
    if _range(saliency)[2]:
        return False
    return bool((mask > 0.5).flatten()[int(saliency.flatten().argmax())])


def iou(saliency: torch.Tensor, mask: torch.Tensor, threshold: float = IOU_THRESHOLD) -> float:
    """Intersection over union of ``saliency >= min + threshold * (max - min)`` with ``mask > 0.5``
    (a constant map has no region)."""
    low, peak, constant = _range(saliency)
    region = (
        torch.zeros_like(saliency, dtype=torch.bool)
        if constant
        else saliency >= low + threshold * (peak - low)
    )
    lesion = mask > 0.5
    union = int((region | lesion).sum())
    return int((region & lesion).sum()) / union if union else float("nan")


def mask_scores(saliency: torch.Tensor, mask: torch.Tensor) -> dict[str, float | bool]:
    """``{"mass_inside", "pointing_hit", "iou"}`` of one map and its mask (same shape)."""
    return {
        "mass_inside": mass_inside(saliency, mask),
        "pointing_hit": pointing_hit(saliency, mask),
        "iou": iou(saliency, mask),
    }
