"""Layers several fusion strategies share."""

from __future__ import annotations

from torch import nn


def mlp_projection(in_width: int, out_width: int) -> nn.Sequential:
    """``Linear -> ReLU``: the per-modality projection several strategies share."""
    return nn.Sequential(nn.Linear(in_width, out_width), nn.ReLU())
