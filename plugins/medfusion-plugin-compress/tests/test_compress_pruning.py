"""Channel removal (:mod:`medfusion_plugin_compress.pruning`) on real backbones: which chains are
found, and a known answer — channels made inert beforehand are removed and the outputs do not move."""

from __future__ import annotations

import pytest
import timm
import torch
from medfusion_plugin_compress.pruning import find_chains, kept_channels, l1_keep, prune_channels
from torch import nn

from medfusion_core.errors import ExportError


def _make_inert(model: nn.Module, amount: float) -> None:
    """Zero the filters (and batch-norm scale and shift, and bias) of the first channels of every
    chain that pruning ``amount`` removes: they carry exactly zero, so removing them changes nothing."""
    for chain in find_chains(model):
        count = chain.channels - kept_channels(chain.channels, amount, 8)
        with torch.no_grad():
            chain.producer.weight[:count] = 0
            if chain.producer.bias is not None:
                chain.producer.bias[:count] = 0
            if chain.norm is not None:
                chain.norm.weight[:count] = 0
                chain.norm.bias[:count] = 0


@pytest.mark.parametrize(
    ("name", "kwargs", "chains"),
    [
        # 4 basic blocks (conv1 -> bn1 -> conv2) + 2 in the deep stem's Sequential
        ("resnet10t", {}, 6),
        # 2 transformer blocks' MLPs (fc1 -> fc2)
        ("vit_tiny_patch16_224", {"img_size": 32, "depth": 2}, 2),
    ],
)
def test_removing_inert_channels_keeps_the_outputs(name: str, kwargs: dict, chains: int) -> None:
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=3, **kwargs).eval()
    _make_inert(model, 0.4)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(images)
    pruned, result = prune_channels(model, 0.4)
    assert result.chains == chains and result.removed > 0.3 * result.total
    assert result.parameters_after < result.parameters_before
    with torch.no_grad():
        actual = pruned(images)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)
    # the channels really left the layers, and the original model is untouched
    widths = [chain.channels for chain in find_chains(pruned)]
    assert widths == [kept_channels(c.channels, 0.4, 8) for c in find_chains(model)]
    assert all(width % 8 == 0 for width in widths)
    assert sum(p.numel() for p in model.parameters()) == result.parameters_before


def test_kept_widths_round_to_the_multiple() -> None:
    assert [kept_channels(c, 0.3, 8) for c in (24, 64, 128, 512)] == [16, 48, 88, 360]
    assert kept_channels(64, 0.3, 1) == 45 and kept_channels(5, 0.5, 8) == 2 and kept_channels(3, 0.9, 8) == 1


def test_the_largest_l1_filters_are_kept_in_order() -> None:
    block = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        block[0].weight.copy_(torch.tensor([[3.0, 0], [0.1, 0], [-2, -2], [0, 0.5]]))
    (chain,) = find_chains(block)
    assert l1_keep(chain, 0.5).tolist() == [0, 2]


class _Block(nn.Module):
    """A residual-block layout whose in-between layer may hold a buffer."""

    def __init__(self, aa: nn.Module, groups: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.aa = aa
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=groups)


class _Blur(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filt", torch.ones(8, 1, 3, 3) / 9)


def test_coupled_channels_break_a_chain() -> None:
    assert len(find_chains(_Block(nn.Identity()))) == 1
    assert find_chains(_Block(_Blur())) == []  # a blur pool's per-channel filter is coupled
    assert find_chains(_Block(nn.Identity(), groups=2)) == []  # grouped convolution
    normed = nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6), nn.Linear(6, 2))
    assert find_chains(normed) == []  # a layer norm mixes every hidden unit
    with pytest.raises(ExportError, match="pruned: the model has no prunable channel chain"):
        prune_channels(normed, 0.3)
    with pytest.raises(ExportError, match=r"pruned: 'amount' must be in \(0, 1\), got 1.0"):
        prune_channels(_Block(nn.Identity()), 1.0)
