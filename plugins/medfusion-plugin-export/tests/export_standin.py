"""A tiny stand-in with ``MultimodalModel.forward``'s signature, for tests that need no plugins."""

from __future__ import annotations

import torch
from torch import nn


class TinyBackbone(nn.Module):
    """Conv + global average pool: ``[N, C, H, W]`` -> ``[N, 8]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


class DataDependent(nn.Module):
    """A component torch.export cannot capture: Python control flow on tensor values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.sum()) > 0:
            return x * 2
        return x


class StandIn(nn.Module):
    """Masked mean over views, clinical MLP, masked concat fusion and a linear head."""

    def __init__(
        self, channels: int = 1, clinical: int = 5, outputs: int = 1, fusion: nn.Module | None = None
    ):
        super().__init__()
        self.backbone = TinyBackbone(channels)
        self.tabular = nn.Linear(clinical, 8)
        self.fusion = fusion or nn.Identity()
        self.head = nn.Linear(16, outputs)

    def forward(
        self,
        images: torch.Tensor,
        view_mask: torch.Tensor,
        clinical: torch.Tensor,
        modality_mask: torch.Tensor,
    ) -> torch.Tensor:
        batch, views = images.shape[:2]
        features = self.backbone(images.flatten(0, 1)).reshape(batch, views, -1)
        weights = view_mask.unsqueeze(-1).float()
        pooled = (features * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        present = modality_mask.float()
        fused = torch.cat([pooled * present[:, :1], self.tabular(clinical) * present[:, 1:]], dim=1)
        return self.head(self.fusion(fused))
