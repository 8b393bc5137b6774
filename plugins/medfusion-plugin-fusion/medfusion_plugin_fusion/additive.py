"""Fusions that add or concatenate modality features: concat, gated (GMU) and attention."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from medfusion_core.components import check_positive, masked_softmax
from medfusion_core.kinds.fusion import Fusion


class ConcatFusion(Fusion):
    """Concatenate the (zeroed when missing) modality features and the mask bits.

    With ``hidden`` the concatenation is projected by ``Linear -> ReLU``; without it the output
    is the concatenation itself (``sum(D_m) + M`` wide).
    """

    def __init__(
        self, in_features: Mapping[str, int], *, hidden: int | None = None, dropout: float = 0.0
    ) -> None:
        super().__init__(in_features, dropout=dropout)
        width = sum(self.widths) + len(self.names)
        if hidden is None:
            self.project: nn.Module = nn.Identity()
            self.out_features = width
        else:
            self.project = nn.Sequential(nn.Linear(width, check_positive("hidden", hidden)), nn.ReLU())
            self.out_features = hidden

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """``project([x_1, ..., x_M, mask])``."""
        return self.project(torch.cat([*inputs, mask.to(inputs[0].dtype)], dim=1))


class _WeightedSum(Fusion):
    """Shared by gated and attention: ``tanh`` projections of each modality to ``hidden`` whose
    weighted sum (weights from :meth:`weights`, zero for missing modalities) is the output."""

    def __init__(self, in_features: Mapping[str, int], *, hidden: int, dropout: float) -> None:
        super().__init__(in_features, dropout=dropout)
        self.out_features = check_positive("hidden", hidden)
        self.project = nn.ModuleList(nn.Linear(width, hidden) for width in self.widths)

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """``sum_m w_m * tanh(W_m x_m)`` with ``w`` zero for missing modalities."""
        hidden = torch.stack([torch.tanh(p(x)) for p, x in zip(self.project, inputs, strict=True)], dim=1)
        weights = self.weights(inputs, hidden, mask)
        return (weights * hidden).sum(dim=1)

    def weights(self, inputs: list[torch.Tensor], hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Weights ``[B, M, 1]`` or ``[B, M, H]`` for the projected modalities ``[B, M, H]``."""
        raise NotImplementedError


class GatedFusion(_WeightedSum):
    """Gated multimodal unit (Arevalo et al., 2017) generalised to M modalities.

    Gates computed from all present inputs (and the mask) decide, per hidden unit, how much each
    modality contributes: a softmax over the present modalities (for two modalities this is the
    GMU's ``z * h_1 + (1 - z) * h_2``).
    """

    def __init__(self, in_features: Mapping[str, int], *, hidden: int = 32, dropout: float = 0.0) -> None:
        super().__init__(in_features, hidden=hidden, dropout=dropout)
        self.gate = nn.Linear(sum(self.widths) + len(self.names), len(self.names) * hidden)

    def weights(self, inputs: list[torch.Tensor], hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-unit gates ``[B, M, H]``."""
        logits = self.gate(torch.cat([*inputs, mask.to(hidden.dtype)], dim=1)).view_as(hidden)
        return masked_softmax(logits, mask.unsqueeze(-1), dim=1)


class AttentionFusion(_WeightedSum):
    """Attention-weighted sum over modalities: a score per projected modality, softmax over the
    present ones. The last weights are kept in ``modality_weights`` ``[B, M]``."""

    def __init__(
        self,
        in_features: Mapping[str, int],
        *,
        hidden: int = 32,
        attention_dim: int = 16,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, hidden=hidden, dropout=dropout)
        self.score = nn.Sequential(
            nn.Linear(hidden, check_positive("attention_dim", attention_dim)),
            nn.Tanh(),
            nn.Linear(attention_dim, 1),
        )
        self.modality_weights: torch.Tensor | None = None

    def weights(self, inputs: list[torch.Tensor], hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One weight per modality ``[B, M, 1]``."""
        weights = masked_softmax(self.score(hidden).squeeze(-1), mask, dim=1)
        self.modality_weights = weights
        return weights.unsqueeze(-1)
