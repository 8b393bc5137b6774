"""Fusions with multiplicative modality interactions: bilinear, tensor (TFN), low-rank (LMF)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import torch
from torch import nn

from medfusion_core.components import check_positive, zero_masked
from medfusion_core.kinds.fusion import Fusion
from medfusion_plugin_fusion.layers import mlp_projection


class BilinearFusion(Fusion):
    """``ReLU(sum_m A_m x_m + sum_{i<j} x_i^T B_ij x_j)`` over present modalities and pairs.

    Unimodal terms keep a patient with one modality informative; a pair term counts only when
    both of its modalities are present.
    """

    def __init__(self, in_features: Mapping[str, int], *, hidden: int = 32, dropout: float = 0.0) -> None:
        super().__init__(in_features, dropout=dropout)
        self.out_features = check_positive("hidden", hidden)
        self.pairs = list(itertools.combinations(range(len(self.widths)), 2))
        self.linear = nn.ModuleList(nn.Linear(width, hidden) for width in self.widths)
        self.bilinear = nn.ModuleList(
            nn.Bilinear(self.widths[i], self.widths[j], hidden, bias=False) for i, j in self.pairs
        )

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Sum of the present unimodal and pairwise bilinear terms, then ReLU."""
        total = sum(
            zero_masked(lin(x), mask[:, m])
            for m, (lin, x) in enumerate(zip(self.linear, inputs, strict=True))
        )
        for (i, j), bilinear in zip(self.pairs, self.bilinear, strict=True):
            total = total + zero_masked(bilinear(inputs[i], inputs[j]), mask[:, i] & mask[:, j])
        return torch.relu(total)


def _with_one(x: torch.Tensor) -> torch.Tensor:
    """Append a constant 1 to every row of ``x [B, D]`` (keeps lower-order interactions)."""
    return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)


class TensorFusion(Fusion):
    """Tensor Fusion Network (Zadeh et al., 2017): each modality is reduced to ``rank`` features,
    a 1 is appended, and the outer product of all modalities (every unimodal, bimodal, ...
    interaction) is flattened and projected to ``hidden``. A missing modality contributes
    ``[0, ..., 0, 1]``, so only the interactions among present modalities remain."""

    def __init__(
        self, in_features: Mapping[str, int], *, rank: int = 4, hidden: int = 32, dropout: float = 0.0
    ) -> None:
        super().__init__(in_features, dropout=dropout)
        self.out_features = check_positive("hidden", hidden)
        self.reduce = nn.ModuleList(
            mlp_projection(width, check_positive("rank", rank)) for width in self.widths
        )
        self.project = nn.Sequential(nn.Linear((rank + 1) ** len(self.widths), hidden), nn.ReLU())

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Flattened outer product of ``[z_m, 1]`` over modalities, projected."""
        product: torch.Tensor | None = None
        for m, (reduce, x) in enumerate(zip(self.reduce, inputs, strict=True)):
            z = _with_one(zero_masked(reduce(x), mask[:, m]))
            product = z if product is None else (product.unsqueeze(2) * z.unsqueeze(1)).flatten(1)
        assert product is not None
        return self.project(product)


class LowRankFusion(Fusion):
    """Low-rank Multimodal Fusion (Liu et al., 2018): the TFN weight tensor factorised into
    ``rank`` modality-specific factors ``W_m [rank, D_m + 1, hidden]`` (``nn.Parameter``), so
    ``out = sum_r w_r * prod_m ([x_m, 1] @ W_m[r]) + b`` without building the outer product.
    A missing modality contributes its factors' constant row only."""

    def __init__(
        self, in_features: Mapping[str, int], *, rank: int = 4, hidden: int = 32, dropout: float = 0.0
    ) -> None:
        super().__init__(in_features, dropout=dropout)
        self.out_features = check_positive("hidden", hidden)
        check_positive("rank", rank)
        self.factors = nn.ParameterList(
            nn.Parameter(nn.init.xavier_normal_(torch.empty(rank, width + 1, hidden)))
            for width in self.widths
        )
        self.rank_weights = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, rank)).squeeze(0))
        self.bias = nn.Parameter(torch.zeros(hidden))

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """``sum_r w_r * prod_m ([x_m, 1] @ W_m[r]) + b``."""
        product: torch.Tensor | None = None
        for factor, x in zip(self.factors, inputs, strict=True):
            term = torch.einsum("bd,rdh->rbh", _with_one(x), factor)
            product = term if product is None else product * term
        assert product is not None
        return torch.einsum("r,rbh->bh", self.rank_weights, product) + self.bias
