"""Conditioning fusions: one modality (``condition``, default ``clinical``) modulates the others.

The output concatenates the modulated features of every other modality (in order) and an
embedding of the conditioning modality, each ``hidden`` wide, so a patient with only the
conditioning modality still gets an informative vector. When the conditioning modality is
missing the modulation falls back to one that does not depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from medfusion_core.components import check_positive, zero_masked
from medfusion_core.errors import ConfigError
from medfusion_core.kinds.fusion import Fusion
from medfusion_plugin_fusion.layers import mlp_projection


class ConditionedFusion(Fusion):
    """Shared bookkeeping: which modality conditions, the others, the conditioning embedding."""

    def __init__(
        self, in_features: Mapping[str, int], *, condition: str, hidden: int, dropout: float
    ) -> None:
        super().__init__(in_features, dropout=dropout)
        if condition not in self.names:
            raise ConfigError(
                f"condition {condition!r} is not one of the modalities ({', '.join(self.names)}); "
                "set 'condition' to one of them"
            )
        self.condition_index = self.names.index(condition)
        self.others = [i for i in range(len(self.names)) if i != self.condition_index]
        self.out_features = check_positive("hidden", hidden) * len(self.names)
        self.hidden = hidden
        self.embed_condition = mlp_projection(self.widths[self.condition_index], hidden)

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """``[modulate(x_other_1, c), ..., embed(c)]`` with missing parts zeroed."""
        c = inputs[self.condition_index]
        c_present = mask[:, self.condition_index]
        parts = [
            zero_masked(self.modulate(slot, inputs[m], c, c_present), mask[:, m])
            for slot, m in enumerate(self.others)
        ]
        parts.append(zero_masked(self.embed_condition(c), c_present))
        return torch.cat(parts, dim=1)

    def modulate(self, slot: int, x: torch.Tensor, c: torch.Tensor, c_present: torch.Tensor) -> torch.Tensor:
        """Features ``[B, hidden]`` of the ``slot``-th conditioned modality ``x`` given ``c``."""
        raise NotImplementedError


class FiLMFusion(ConditionedFusion):
    """Feature-wise linear modulation (Perez et al., 2018): the conditioning modality produces a
    scale ``gamma`` and shift ``beta`` for each other modality's projected features,
    ``ReLU(h * (1 + gamma) + beta)``; identity modulation when it is missing."""

    def __init__(
        self,
        in_features: Mapping[str, int],
        *,
        hidden: int = 32,
        condition: str = "clinical",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, condition=condition, hidden=hidden, dropout=dropout)
        width_c = self.widths[self.condition_index]
        self.project = nn.ModuleList(nn.Linear(self.widths[m], hidden) for m in self.others)
        self.film = nn.ModuleList(nn.Linear(width_c, 2 * hidden) for _ in self.others)

    def modulate(self, slot: int, x: torch.Tensor, c: torch.Tensor, c_present: torch.Tensor) -> torch.Tensor:
        """``ReLU(W x * (1 + gamma(c)) + beta(c))``."""
        gamma, beta = zero_masked(self.film[slot](c), c_present).chunk(2, dim=1)
        return torch.relu(self.project[slot](x) * (1 + gamma) + beta)


class DAFTFusion(ConditionedFusion):
    """Dynamic affine feature transform, after the idea of Pölsterl et al. (2021), on feature
    vectors: inside a residual block, a bottleneck MLP fed with the pooled image features, the
    clinical vector and its presence bit produces a scale and shift for the image features,
    ``out = ReLU(h + W2 ReLU(h * (1 + scale) + shift))`` with ``h = W1 x``."""

    def __init__(
        self,
        in_features: Mapping[str, int],
        *,
        hidden: int = 32,
        bottleneck: int = 8,
        condition: str = "clinical",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, condition=condition, hidden=hidden, dropout=dropout)
        width_c = self.widths[self.condition_index]
        check_positive("bottleneck", bottleneck)
        self.project = nn.ModuleList(nn.Linear(self.widths[m], hidden) for m in self.others)
        self.auxiliary = nn.ModuleList(
            nn.Sequential(
                nn.Linear(hidden + width_c + 1, bottleneck), nn.ReLU(), nn.Linear(bottleneck, 2 * hidden)
            )
            for _ in self.others
        )
        self.mix = nn.ModuleList(nn.Linear(hidden, hidden) for _ in self.others)

    def modulate(self, slot: int, x: torch.Tensor, c: torch.Tensor, c_present: torch.Tensor) -> torch.Tensor:
        """The DAFT residual block on the projected features of ``x``."""
        h = self.project[slot](x)
        condition = torch.cat([h, c, c_present.to(h.dtype).unsqueeze(1)], dim=1)
        scale, shift = self.auxiliary[slot](condition).chunk(2, dim=1)
        return torch.relu(h + self.mix[slot](torch.relu(h * (1 + scale) + shift)))
