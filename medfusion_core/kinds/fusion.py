"""What every fusion shares: modality bookkeeping, masking helpers and the forward template.

A fusion receives ``features: dict[str, Tensor[B, D_m]]`` and ``mask: Tensor[B, M] bool`` whose
column ``i`` is the modality ``i`` of ``in_features`` (in order). Subclasses implement
:meth:`Fusion.fuse` on features whose masked rows are already replaced by zeros, so the values of
a masked modality can never reach the output; the mask itself may.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from medfusion_core.components import check_positive, zero_masked
from medfusion_core.errors import ConfigError


class Fusion(nn.Module):
    """Base class: validates ``in_features``, zeroes masked modalities, applies output dropout.

    Attributes:
        names: modality names in mask-column order.
        widths: feature width per modality, same order.
        out_features: width of the fused output.
    """

    out_features: int

    def __init__(
        self, in_features: Mapping[str, int], *, dropout: float = 0.0, min_modalities: int = 2
    ) -> None:
        super().__init__()
        if not isinstance(in_features, Mapping) or len(in_features) < min_modalities:
            raise ConfigError(
                f"{type(self).__name__} needs at least {min_modalities} modalities, got {dict(in_features)!r}"
            )
        self.names: list[str] = list(in_features)
        self.widths: list[int] = [check_positive(f"in_features[{n!r}]", w) for n, w in in_features.items()]
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
        self.dropout = nn.Dropout(float(dropout))

    def forward(self, features: Mapping[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Fuse ``features`` (one ``[B, D_m]`` tensor per modality) under ``mask [B, M]``."""
        inputs = [zero_masked(features[name], mask[:, i]) for i, name in enumerate(self.names)]
        return self.dropout(self.fuse(inputs, mask))

    def fuse(self, inputs: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Combine the masked-to-zero inputs (in :attr:`names` order) into ``[B, out_features]``."""
        raise NotImplementedError


def mlp_projection(in_width: int, out_width: int) -> nn.Sequential:
    """``Linear -> ReLU``: the per-modality projection several strategies share."""
    return nn.Sequential(nn.Linear(in_width, out_width), nn.ReLU())
