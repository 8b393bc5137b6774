"""Parameter-free pooling over present views: mean and max."""

from __future__ import annotations

import torch

from medfusion_plugin_aggregators.base import Aggregator


class MeanAggregator(Aggregator):
    """Mean of the present views; ``view_weights`` is ``1 / n_views`` on present views."""

    def aggregate(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``sum(views) / n`` (padded views are zero)."""
        present = mask.to(views.dtype)
        weights = present / present.sum(dim=1, keepdim=True).clamp(min=1.0)
        self.view_weights = weights
        return (weights.unsqueeze(-1) * views).sum(dim=1)


class MaxAggregator(Aggregator):
    """Element-wise maximum over the present views."""

    def aggregate(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``max_v views`` with padded views excluded."""
        filled = views.masked_fill(~mask.unsqueeze(-1), torch.finfo(views.dtype).min)
        return filled.amax(dim=1)
