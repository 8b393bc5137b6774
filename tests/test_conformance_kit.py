"""The conformance kit accepts conforming components and rejects each kind of violation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from medfusion_core.testing import conformance


class MaskedMeanFusion(nn.Module):
    """Projects every modality and averages the present ones (conforming)."""

    def __init__(self, in_features: dict[str, int], hidden: int = 5) -> None:
        super().__init__()
        self.proj = nn.ModuleDict({name: nn.Linear(width, hidden) for name, width in in_features.items()})
        self.out_features = hidden

    def forward(self, features: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack([self.proj[name](x) for name, x in features.items()], dim=1)
        weights = mask.to(stacked.dtype).unsqueeze(-1)
        summed = torch.where(weights > 0, stacked, torch.zeros_like(stacked)).sum(dim=1)
        return summed / weights.sum(dim=1).clamp(min=1.0)


class LeakyFusion(MaskedMeanFusion):
    """Ignores the mask: a masked modality still changes the output."""

    def forward(self, features: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        return torch.stack([self.proj[name](x) for name, x in features.items()], dim=1).mean(dim=1)


class DeadParamFusion(MaskedMeanFusion):
    """Has a parameter that never takes part in forward."""

    def __init__(self, in_features: dict[str, int]) -> None:
        super().__init__(in_features)
        self.unused = nn.Parameter(torch.zeros(3))


class UnseededFusion(MaskedMeanFusion):
    """Initialises from numpy's global RNG, so the torch seed does not make it deterministic."""

    def __init__(self, in_features: dict[str, int]) -> None:
        super().__init__(in_features)
        with torch.no_grad():
            for layer in self.proj.values():
                layer.weight.copy_(torch.from_numpy(np.random.default_rng().normal(size=layer.weight.shape)))


class BranchyFusion(MaskedMeanFusion):
    """Data-dependent Python control flow: not exportable."""

    def forward(self, features: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        out = super().forward(features, mask)
        return out * 2 if float(out.detach().sum()) > 0 else out


class MaskedMeanAggregator(nn.Module):
    """Mean over present views; weights exposed (conforming)."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_features, in_features)
        self.out_features = in_features
        self.view_weights: torch.Tensor | None = None

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.float() / mask.float().sum(dim=1, keepdim=True).clamp(min=1.0)
        self.view_weights = weights
        return (self.proj(views) * weights.unsqueeze(-1)).sum(dim=1)


class LeakyAggregator(MaskedMeanAggregator):
    """Averages every view, padded ones included."""

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.proj(views).mean(dim=1)


class LeakyWeightsAggregator(MaskedMeanAggregator):
    """Correct output but reports weight on padded views."""

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = super().forward(views, mask)
        self.view_weights = torch.full(mask.shape, 1.0 / mask.shape[1])
        return out


class NaNAggregator(MaskedMeanAggregator):
    """Divides by the view count without a guard: NaN for a row with no views."""

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.float() / mask.float().sum(dim=1, keepdim=True)
        return torch.nan_to_num(self.proj(views), 0.0).mul(weights.unsqueeze(-1)).sum(dim=1)


class ChannelGate(nn.Module):
    """Squeeze-excitation style attention with an attention map (conforming)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)
        self.spatial = nn.Conv2d(channels, 1, 1)
        self.attention_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc(x.mean(dim=(2, 3))))[:, :, None, None]
        self.attention_map = torch.sigmoid(self.spatial(x))
        return x * gate * self.attention_map


class Shrinking(nn.Module):
    """Changes the spatial shape: violates the attention contract."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FixedSize(ChannelGate):
    """Only accepts 7x7 maps, like a model with a fixed input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != 7:
            raise ValueError("expected 7x7 feature maps")
        return super().forward(x)


class DiceLoss(nn.Module):
    """Soft Dice between an attention map and a lesion mask."""

    def forward(self, attention: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        overlap = (attention * masks).sum()
        return 1 - 2 * overlap / (attention.sum() + masks.sum() + 1e-6)


def test_conforming_toys_pass() -> None:
    module = conformance.check_fusion(MaskedMeanFusion)
    assert module.out_features == 5
    conformance.check_fusion(MaskedMeanFusion, in_features={"a": 3, "b": 4, "c": 2}, params={"hidden": 3})
    conformance.check_aggregator(MaskedMeanAggregator)
    conformance.check_attention(ChannelGate)
    conformance.check_loss(DiceLoss)
    own_inputs = {"attention": torch.rand(2, 1, 4, 4), "masks": torch.ones(2, 1, 4, 4)}
    conformance.check_loss(DiceLoss, inputs=own_inputs, grad_input="attention")


@pytest.mark.parametrize(
    ("check", "factory", "message"),
    [
        (conformance.check_fusion, LeakyFusion, "masked modality 'image' changed"),
        (conformance.check_fusion, DeadParamFusion, "parameter 'unused' receives no gradient"),
        (conformance.check_fusion, UnseededFusion, "two builds under the same seed"),
        (conformance.check_fusion, BranchyFusion, "torch.export failed"),
        (conformance.check_aggregator, LeakyAggregator, "padded views changed"),
        (conformance.check_aggregator, NaNAggregator, "non-finite output"),
        (conformance.check_aggregator, LeakyWeightsAggregator, "padded views get weight 0.25"),
        (conformance.check_attention, Shrinking, "has shape"),
        (conformance.check_attention, FixedSize, r"forward failed on inputs \[\(3, 8, 6, 6\)\]"),
    ],
)
def test_violations_are_reported(check, factory, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check(factory)


def test_exemptions_and_sizes() -> None:
    conformance.check_fusion(BranchyFusion, exportable=False)
    conformance.check_attention(FixedSize, size=(7, 7))
