"""Helpers for component implementations (fusions, aggregators, ...): parameter checks and masks.

The mask helpers use ``torch.where``/``masked_fill``, never multiplication by the mask, so masked
entries cannot leak into the result even when they hold NaN or infinity.
"""

from __future__ import annotations

import torch

from medfusion_core.errors import ConfigError


def check_positive(name: str, value: int) -> int:
    """Return ``value`` if it is a positive int, else raise :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def masked_softmax(logits: torch.Tensor, present: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax over ``dim`` restricted to ``present`` entries; rows with none present get zeros.

    ``present`` (bool) broadcasts against ``logits``; masked entries get exactly zero weight
    whatever their logits are.
    """
    filled = logits.masked_fill(~present, torch.finfo(logits.dtype).min)
    weights = torch.softmax(filled, dim=dim)
    return torch.where(present, weights, torch.zeros((), dtype=weights.dtype))


def zero_masked(x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """``x`` with the entries where ``present`` is False replaced by exact zeros.

    ``present`` has ``x``'s leading dimensions (``[B]`` for ``x [B, D]``, ``[B, V]`` for
    ``x [B, V, D]``); it is broadcast over the trailing feature dimension.
    """
    return torch.where(present.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype))
