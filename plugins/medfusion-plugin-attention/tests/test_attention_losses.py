"""Attention-supervision losses: numpy oracle, masked samples ignored, decrease as maps match."""

from __future__ import annotations

import medfusion_plugin_attention.hooks as hooks
import numpy as np
import pytest
import torch

from medfusion_core.errors import ConfigError
from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance


@pytest.fixture
def registry(medfusion_host):
    """The registry of an isolated host holding only this plugin."""
    medfusion_host.register(hooks, "medfusion-plugin-attention")
    return get_registry()


def _lesion_masks(n: int, size: int = 16) -> torch.Tensor:
    """Square lesions at different places, ``[n, 1, size, size]``."""
    masks = torch.zeros(n, 1, size, size)
    for i in range(n):
        top = 2 + 3 * i
        masks[i, 0, top : top + 6, 4:10] = 1.0
    return masks


def test_losses_registered(registry):
    assert registry.names("loss") == ["cam", "consistency", "mask_guided"]


def test_losses_conformance(registry):
    generator = torch.Generator().manual_seed(0)
    masks = _lesion_masks(3, 8)
    conformance.check_loss("mask_guided")
    conformance.check_loss("mask_guided", params={"mode": "dice"})
    conformance.check_loss(
        "cam",
        inputs={
            "features": torch.randn(3, 4, 8, 8, generator=generator),
            "weights": torch.randn(1, 4),
            "masks": masks,
        },
        grad_input="features",
    )
    conformance.check_loss(
        "consistency",
        inputs={"attention": torch.rand(3, 1, 8, 8, generator=generator), "other": torch.rand(3, 1, 4, 4)},
    )


def test_mask_guided_equals_numpy_bce_over_annotated_samples(registry):
    loss = registry.create("loss", "mask_guided")
    rng = np.random.default_rng(0)
    attention = rng.uniform(0.05, 0.95, size=(3, 1, 4, 4))
    masks = np.zeros((3, 1, 8, 8))
    masks[0, 0, :4, :4] = 1.0
    masks[2, 0, 2:6, 3:8] = 1.0  # sample 1 has no lesion annotation (empty mask)
    target = masks.reshape(3, 1, 4, 2, 4, 2).mean(axis=(3, 5))  # area average to 4x4
    bce = -(target * np.log(attention) + (1 - target) * np.log(1 - attention)).reshape(3, -1).mean(axis=1)
    value = loss(attention=torch.tensor(attention), masks=torch.tensor(masks, dtype=torch.float32))
    assert value.item() == pytest.approx((bce[0] + bce[2]) / 2, rel=1e-5)


@pytest.mark.parametrize("mode", ["bce", "dice"])
def test_mask_guided_ignores_samples_without_masks(registry, mode):
    loss = registry.create("loss", "mask_guided", mode=mode)
    masks = _lesion_masks(3)
    attention = torch.rand(3, 1, 8, 8, requires_grad=True)
    valid = torch.tensor([True, False, True])
    full = loss(attention=attention, masks=masks, valid=valid)
    subset = loss(attention=attention[[0, 2]], masks=masks[[0, 2]])
    assert torch.allclose(full, subset)
    full.backward()
    assert attention.grad[1].abs().sum() == 0 and attention.grad[0].abs().sum() > 0
    none = loss(attention=attention, masks=torch.zeros(3, 1, 16, 16))
    assert none.item() == 0.0 and none.requires_grad


@pytest.mark.parametrize("mode", ["bce", "dice"])
def test_mask_guided_decreases_when_attention_matches(registry, mode):
    loss = registry.create("loss", "mask_guided", mode=mode)
    masks = _lesion_masks(2)
    matching = masks.clamp(0.05, 0.95)
    assert loss(attention=matching, masks=masks) < loss(attention=1 - matching, masks=masks)
    assert loss(attention=matching, masks=masks) < loss(attention=torch.full_like(masks, 0.5), masks=masks)


def test_mask_guided_trains_a_spatial_gate_towards_the_lesion(registry):
    torch.manual_seed(0)
    gate = registry.create("attention", "spatial", 4)
    loss = registry.create("loss", "mask_guided")
    masks = _lesion_masks(2)
    features = torch.randn(2, 4, 16, 16) + 3.0 * masks  # lesion pixels stand out in the features
    optimizer = torch.optim.Adam(gate.parameters(), lr=0.05)
    values = []
    for _ in range(30):
        gate(features)
        value = loss(attention=gate.attention_map, masks=masks)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        values.append(value.item())
    assert values[-1] < 0.5 * values[0]


def test_cam_loss_prefers_features_aligned_with_the_lesion(registry):
    loss = registry.create("loss", "cam")
    masks = _lesion_masks(2)
    weights = torch.tensor([[1.0, -1.0]])
    aligned = torch.cat([masks, 1 - masks], dim=1)  # class evidence on the lesion
    misaligned = torch.cat([1 - masks, masks], dim=1)
    assert loss(features=aligned, weights=weights, masks=masks) < loss(
        features=misaligned, weights=weights, masks=masks
    )
    cam = loss.activation_map(aligned, weights)
    assert torch.allclose(cam, masks)


def test_cam_loss_selects_the_target_class_row(registry):
    loss = registry.create("loss", "cam")
    masks = _lesion_masks(2)
    features = torch.cat([masks, 1 - masks], dim=1)
    weights = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # class 1 looks at the lesion channel
    on_lesion = loss(features=features, weights=weights, masks=masks, target=torch.tensor([1, 1]))
    off_lesion = loss(features=features, weights=weights, masks=masks, target=torch.tensor([0, 0]))
    assert on_lesion < off_lesion
    with pytest.raises(ConfigError, match="cam: the head has 2 outputs; pass target"):
        loss(features=features, weights=weights, masks=masks)
    no_masks = loss(
        features=features, weights=weights, masks=torch.zeros_like(masks), target=torch.tensor([1, 1])
    )
    assert no_masks.item() == 0.0


def test_consistency_loss_is_zero_for_equal_maps_and_respects_valid(registry):
    loss = registry.create("loss", "consistency")
    maps = torch.rand(3, 1, 8, 8)
    assert loss(attention=maps, other=maps.clone()).item() == pytest.approx(0.0, abs=1e-12)
    # ``other`` at a finer resolution is area-averaged to the attention map's size.
    fine = maps.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    assert loss(attention=maps, other=fine).item() == pytest.approx(0.0, abs=1e-12)
    shifted = maps.clone()
    shifted[1] = 1 - shifted[1]
    assert loss(attention=maps, other=shifted).item() > 0
    assert loss(
        attention=maps, other=shifted, valid=torch.tensor([True, False, True])
    ).item() == pytest.approx(0.0, abs=1e-12)


def test_loss_mode_is_checked(registry):
    with pytest.raises(ConfigError, match="mask_guided: mode must be 'bce' or 'dice'"):
        registry.create("loss", "mask_guided", mode="l1")
