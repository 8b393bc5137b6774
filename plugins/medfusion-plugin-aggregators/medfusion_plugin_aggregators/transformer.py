"""Cross-view transformer: view tokens attend to each other; a summary token reads them out."""

from __future__ import annotations

import torch
from torch import nn

from medfusion_core.components import check_positive
from medfusion_core.errors import ConfigError, DataError
from medfusion_plugin_aggregators.base import Aggregator


class TransformerAggregator(Aggregator):
    """Views projected to ``hidden`` tokens (plus a learned position embedding), a learned summary
    token prepended, ``layers`` pre-norm transformer layers with padded views key-masked; the
    summary token's output is the aggregate (``hidden`` wide)."""

    def __init__(
        self,
        in_features: int,
        *,
        hidden: int = 64,
        heads: int = 4,
        layers: int = 1,
        max_views: int = 16,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features)
        check_positive("hidden", hidden)
        if hidden % check_positive("heads", heads):
            raise ConfigError(f"hidden ({hidden}) must be divisible by heads ({heads})")
        self.out_features = hidden
        self.project = nn.Linear(in_features, hidden)
        self.summary = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.position = nn.Parameter(torch.randn(check_positive("max_views", max_views), hidden) * 0.02)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                hidden, heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True, norm_first=True
            )
            for _ in range(check_positive("layers", layers))
        )
        self.norm = nn.LayerNorm(hidden)

    def aggregate(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summary token output after the transformer layers."""
        batch, count = views.shape[:2]
        if count > self.position.shape[0]:
            raise DataError(
                f"aggregator transformer: got {count} views but max_views is {self.position.shape[0]}; "
                "raise model.aggregator.params.max_views"
            )
        tokens = self.project(views) + self.position[:count]
        tokens = torch.cat([self.summary.expand(batch, 1, -1), tokens], dim=1)
        # The summary token is never padded, so every row has at least one key.
        padding = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], dim=1)
        for layer in self.layers:
            tokens = layer(tokens, src_key_padding_mask=padding)
        return self.norm(tokens[:, 0])
