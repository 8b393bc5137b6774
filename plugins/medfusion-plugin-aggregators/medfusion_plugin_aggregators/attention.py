"""Learned view weighting: attention MIL (Ilse et al., 2018), its gated variant, and a learned
weight per view position."""

from __future__ import annotations

import torch
from torch import nn

from medfusion_core.components import check_positive
from medfusion_core.errors import DataError
from medfusion_plugin_aggregators.base import WeightedAggregator


class AttentionMIL(WeightedAggregator):
    """Attention-based MIL pooling: ``a_v = softmax_v(w^T tanh(V h_v))``, ``z = sum_v a_v h_v``."""

    def __init__(self, in_features: int, *, attention_dim: int = 32) -> None:
        super().__init__(in_features)
        self.hidden = nn.Linear(in_features, check_positive("attention_dim", attention_dim))
        self.score = nn.Linear(attention_dim, 1)

    def scores(self, views: torch.Tensor) -> torch.Tensor:
        """``w^T tanh(V h)``."""
        return self.score(self.features(views)).squeeze(-1)

    def features(self, views: torch.Tensor) -> torch.Tensor:
        """The attention network's hidden representation ``tanh(V h)``."""
        return torch.tanh(self.hidden(views))


class GatedAttentionMIL(AttentionMIL):
    """Gated attention MIL: ``a_v = softmax_v(w^T (tanh(V h_v) * sigmoid(U h_v)))``."""

    def __init__(self, in_features: int, *, attention_dim: int = 32) -> None:
        super().__init__(in_features, attention_dim=attention_dim)
        self.gate = nn.Linear(in_features, attention_dim)

    def features(self, views: torch.Tensor) -> torch.Tensor:
        """``tanh(V h) * sigmoid(U h)``."""
        return torch.tanh(self.hidden(views)) * torch.sigmoid(self.gate(views))


class LearnedViewWeights(WeightedAggregator):
    """One learned logit per view position (initialised equal), softmax over present views.

    Useful when view positions mean something (e.g. CC and MLO mammography views).
    """

    def __init__(self, in_features: int, *, max_views: int = 8) -> None:
        super().__init__(in_features)
        self.logits = nn.Parameter(torch.zeros(check_positive("max_views", max_views)))

    def scores(self, views: torch.Tensor) -> torch.Tensor:
        """The first ``V`` position logits, broadcast over the batch."""
        count = views.shape[1]
        if count > self.logits.shape[0]:
            raise DataError(
                f"aggregator learned_weights: got {count} views but max_views is {self.logits.shape[0]}; "
                "raise model.aggregator.params.max_views"
            )
        return self.logits[:count].expand(views.shape[0], count)
