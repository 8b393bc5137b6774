"""Attention supervision in the trainer: which losses fit, and only annotated views count."""

from __future__ import annotations

import pytest
import torch
from medfusion_plugin_trainer.losses import attention_loss_term, check_mask_supervision
from torch import nn

from medfusion_core.errors import ConfigError


class MapVsMask(nn.Module):
    def forward(self, *, attention, masks, valid=None):
        return (attention - masks).pow(2).mean()


class NeedsFeatures(nn.Module):
    def forward(self, *, features, weights, masks, valid=None):
        return features.sum()


def test_only_losses_taking_attention_and_masks_are_accepted():
    check_mask_supervision(MapVsMask(), "map_vs_mask")
    with pytest.raises(ConfigError) as info:
        check_mask_supervision(NeedsFeatures(), "cam")
    assert "model.attention_loss.name" in str(info.value) and "'cam'" in str(info.value)


def test_views_without_a_mask_are_left_out():
    attention = torch.full((2, 2, 1, 4, 4), 0.5)
    masks = torch.zeros(2, 2, 1, 8, 8)
    masks[0, 0] = 1.0
    supervised = torch.tensor([[True, False], [False, False]])
    assert float(attention_loss_term(MapVsMask(), attention, masks, supervised)) == pytest.approx(0.25)
    nothing = attention_loss_term(MapVsMask(), attention.requires_grad_(), masks, supervised & False)
    assert float(nothing.detach()) == 0.0 and nothing.requires_grad
