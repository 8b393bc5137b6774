"""Cross-modal attention fusion: modalities are tokens that attend to each other."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from medfusion_core.components import check_positive
from medfusion_core.errors import ConfigError
from medfusion_core.kinds.fusion import Fusion


class CrossAttentionFusion(Fusion):
    """Each modality is projected to a ``hidden``-wide token (plus a learned modality embedding);
    ``layers`` pre-norm transformer layers let every token attend to the other present
    modalities (missing ones are key-padded); the output is the mean of the present tokens."""

    def __init__(
        self,
        in_features: Mapping[str, int],
        *,
        hidden: int = 32,
        heads: int = 2,
        layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, dropout=dropout)
        check_positive("hidden", hidden)
        if hidden % check_positive("heads", heads):
            raise ConfigError(f"hidden ({hidden}) must be divisible by heads ({heads})")
        self.out_features = hidden
        self.project = nn.ModuleList(nn.Linear(width, hidden) for width in self.widths)
        self.modality_embedding = nn.Parameter(torch.randn(len(self.widths), hidden) * 0.02)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                hidden, heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True, norm_first=True
            )
            for _ in range(check_positive("layers", layers))
        )
        self.norm = nn.LayerNorm(hidden)

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Transformer over modality tokens, then the mean of the present tokens."""
        tokens = torch.stack([p(x) for p, x in zip(self.project, inputs, strict=True)], dim=1)
        tokens = tokens + self.modality_embedding
        # A row with no modality attends to all of its (input-independent) tokens to stay finite;
        # its output is discarded by the pooling weights below.
        padding = ~mask & mask.any(dim=1, keepdim=True)
        for layer in self.layers:
            tokens = layer(tokens, src_key_padding_mask=padding)
        weights = mask.to(tokens.dtype).unsqueeze(-1)
        pooled = (self.norm(tokens) * weights).sum(dim=1)
        return pooled / weights.sum(dim=1).clamp(min=1.0)
