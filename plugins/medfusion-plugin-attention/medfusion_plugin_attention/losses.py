"""Attention-supervision losses: attention vs lesion mask, CAM vs lesion mask, and consistency.

Every loss is an ``nn.Module`` with a keyword-only ``forward`` returning a scalar. Samples are
weighted by ``valid`` (bool ``[N]``); when it is omitted, samples whose mask is all zero (no
lesion annotation) are left out. Samples left out contribute nothing, and a batch without any
valid sample gives a loss of exactly zero (still connected to the graph). Masks are resized to
the attention map by area averaging.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medfusion_core.errors import ConfigError

_EPS = 1e-6


def _as_maps(tensor: torch.Tensor) -> torch.Tensor:
    """``[N, h, w]`` or ``[N, 1, h, w]`` -> ``[N, 1, h, w]``."""
    return tensor.unsqueeze(1) if tensor.ndim == 3 else tensor


def _resized(masks: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Masks ``[N, 1, H, W]`` averaged over the cells of an ``h x w`` grid."""
    masks = _as_maps(masks).float()
    return masks if masks.shape[-2:] == size else F.adaptive_avg_pool2d(masks, size)


def _weights(masks: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """Per-sample weights ``[N]``: ``valid``, or whether the mask has any foreground."""
    if valid is not None:
        return valid.reshape(-1).to(masks.dtype)
    return (masks.flatten(1).amax(dim=1) > 0).to(masks.dtype)


def _weighted_mean(per_sample: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of ``per_sample`` over weighted samples; zero when no sample has weight."""
    return (per_sample * weights).sum() / weights.sum().clamp_min(1.0)


def map_vs_mask(attention: torch.Tensor, target: torch.Tensor, mode: str) -> torch.Tensor:
    """Per-sample discrepancy ``[N]`` between maps in [0, 1] and same-size soft masks.

    ``bce``: mean binary cross-entropy over the pixels; ``dice``: one minus the soft Dice overlap.
    """
    attention = attention.float().clamp(_EPS, 1.0 - _EPS)
    if mode == "bce":
        return F.binary_cross_entropy(attention, target, reduction="none").flatten(1).mean(dim=1)
    overlap = (attention * target).flatten(1).sum(dim=1)
    total = attention.flatten(1).sum(dim=1) + target.flatten(1).sum(dim=1)
    return 1.0 - (2.0 * overlap + _EPS) / (total + _EPS)


def _check_mode(loss: str, mode: str) -> str:
    if mode not in ("bce", "dice"):
        raise ConfigError(f"loss {loss}: mode must be 'bce' or 'dice', got {mode!r}")
    return mode


class MaskGuidedLoss(nn.Module):
    """Attention maps (values in [0, 1], e.g. a CBAM/spatial gate) should match the lesion masks.

    Args:
        mode: ``"bce"`` (pixel-wise binary cross-entropy) or ``"dice"`` (soft Dice).
    """

    def __init__(self, *, mode: str = "bce") -> None:
        super().__init__()
        self.mode = _check_mode("mask_guided", mode)

    def forward(
        self, *, attention: torch.Tensor, masks: torch.Tensor, valid: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss.

        Args:
            attention: maps ``[N, 1, h, w]`` (or ``[N, h, w]``) in [0, 1].
            masks: lesion masks ``[N, 1, H, W]`` in [0, 1], resized to ``h x w``.
            valid: bool ``[N]``, True where the sample has a mask (default: mask not empty).
        """
        attention = _as_maps(attention)
        target = _resized(masks, attention.shape[-2:])
        return _weighted_mean(map_vs_mask(attention, target, self.mode), _weights(target, valid))


class CamLoss(nn.Module):
    """Class activation maps (feature map weighted by the linear head) should match the masks.

    The CAM is ``relu(sum_c w_c * features_c)`` scaled by its per-sample maximum to [0, 1].

    Args:
        mode: ``"bce"`` or ``"dice"``, as for :class:`MaskGuidedLoss`.
    """

    def __init__(self, *, mode: str = "bce") -> None:
        super().__init__()
        self.mode = _check_mode("cam", mode)

    def forward(
        self,
        *,
        features: torch.Tensor,
        weights: torch.Tensor,
        masks: torch.Tensor,
        target: torch.Tensor | None = None,
        valid: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scalar loss.

        Args:
            features: backbone feature maps ``[N, C, h, w]``.
            weights: linear head weights ``[C]`` or ``[K, C]``.
            masks: lesion masks ``[N, 1, H, W]``.
            target: class index ``[N]`` selecting the row of ``weights`` (needed when ``K > 1``).
            valid: bool ``[N]``, True where the sample has a mask (default: mask not empty).
        """
        cam = self.activation_map(features, weights, target)
        resized = _resized(masks, cam.shape[-2:])
        return _weighted_mean(map_vs_mask(cam, resized, self.mode), _weights(resized, valid))

    @staticmethod
    def activation_map(
        features: torch.Tensor, weights: torch.Tensor, target: torch.Tensor | None = None
    ) -> torch.Tensor:
        """CAM ``[N, 1, h, w]`` in [0, 1] of ``features`` for the class chosen by ``target``."""
        rows = weights.reshape(-1, features.shape[1])
        if target is not None:
            chosen = rows[target.reshape(-1).long()]
        elif rows.shape[0] == 1:
            chosen = rows.expand(features.shape[0], -1)
        else:
            raise ConfigError(
                f"loss cam: the head has {rows.shape[0]} outputs; pass target (class per sample)"
            )
        cam = torch.relu(torch.einsum("nchw,nc->nhw", features, chosen)).unsqueeze(1)
        return cam / (cam.flatten(1).amax(dim=1).reshape(-1, 1, 1, 1) + _EPS)


class ConsistencyLoss(nn.Module):
    """Attention maps of two views or augmentations of the same sample should agree (mean squared
    difference); ``other`` is resized to ``attention``'s size. Align flips before calling."""

    def forward(
        self, *, attention: torch.Tensor, other: torch.Tensor, valid: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss.

        Args:
            attention: maps ``[N, 1, h, w]`` (or ``[N, h, w]``).
            other: maps of the paired view/augmentation ``[N, 1, h', w']``.
            valid: bool ``[N]``, True where the pair counts (default: every pair).
        """
        attention = _as_maps(attention).float()
        paired = _resized(other, attention.shape[-2:])
        per_sample = (attention - paired).pow(2).flatten(1).mean(dim=1)
        weights = torch.ones_like(per_sample) if valid is None else valid.reshape(-1).to(per_sample.dtype)
        return _weighted_mean(per_sample, weights)
