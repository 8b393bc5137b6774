"""What every aggregator shares: padded views zeroed, empty rows zeroed, per-view weights.

An aggregator maps ``views [B, V, D]`` and ``mask [B, V]`` (True = real view) to ``[B, out]``.
Subclasses implement :meth:`Aggregator.aggregate` on views whose padded entries are already exact
zeros; the base turns the output of a row without any view into zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from medfusion_core.components import check_positive, masked_softmax, zero_masked


class Aggregator(nn.Module):
    """Base class. ``view_weights`` holds the last per-view weights ``[B, V]`` where they exist."""

    out_features: int

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.in_features = check_positive("in_features", in_features)
        self.out_features = in_features
        self.view_weights: torch.Tensor | None = None

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Aggregate ``views [B, V, D]`` under ``mask [B, V]`` into ``[B, out_features]``."""
        out = self.aggregate(zero_masked(views, mask), mask)
        return torch.where(mask.any(dim=1, keepdim=True), out, torch.zeros((), dtype=out.dtype))

    def aggregate(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pool the (padding-zeroed) views; rows without views may return anything finite."""
        raise NotImplementedError


class WeightedAggregator(Aggregator):
    """An aggregator whose output is ``sum_v w_v * h_v`` with ``w = softmax(scores)`` over present
    views; subclasses provide :meth:`scores` ``[B, V]`` (and may transform ``h`` with
    :meth:`values`). The weights are stored in ``view_weights``."""

    def aggregate(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Softmax-weighted sum of the view values."""
        weights = masked_softmax(self.scores(views), mask, dim=1)
        self.view_weights = weights
        return (weights.unsqueeze(-1) * self.values(views)).sum(dim=1)

    def scores(self, views: torch.Tensor) -> torch.Tensor:
        """Unnormalised per-view scores ``[B, V]``."""
        raise NotImplementedError

    def values(self, views: torch.Tensor) -> torch.Tensor:
        """What is summed (the views themselves by default)."""
        return views
