"""Attention modules: conformance kit, spatial maps equal an independent computation, errors."""

from __future__ import annotations

import copy
import subprocess
import sys

import medfusion_plugin_attention.hooks as hooks
import pytest
import torch
import torch.nn.functional as F

from medfusion_core.errors import ConfigError
from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance


@pytest.fixture
def registry(medfusion_host):
    """The registry of an isolated host holding only this plugin."""
    medfusion_host.register(hooks, "medfusion-plugin-attention")
    return get_registry()


def test_attention_registers_five_modules(registry):
    assert registry.names("attention") == ["cbam", "eca", "se", "spatial", "transformer"]


@pytest.mark.parametrize("name", conformance.component_names("attention", hooks))
def test_attention_conformance(registry, name):
    conformance.check_attention(name, channels=16)


@pytest.mark.parametrize("name", ["cbam", "spatial"])
def test_attention_map_is_the_spatial_gate(registry, name):
    torch.manual_seed(0)
    module = registry.create("attention", name, 16).eval()
    x = torch.randn(2, 16, 6, 6)
    out = module(x)
    gate = module.attention_map
    assert gate.shape == (2, 1, 6, 6)
    spatial = module.inner.spatial if name == "cbam" else module.inner
    # The spatial gate sees the (channel-attended) input; its map is sigmoid(conv([mean, max])).
    gated_input = module.inner.channel(x) if name == "cbam" else x
    pooled = torch.cat([gated_input.mean(dim=1, keepdim=True), gated_input.amax(dim=1, keepdim=True)], dim=1)
    expected = torch.sigmoid(spatial.conv(pooled))
    assert torch.allclose(gate, expected, atol=1e-6)
    assert torch.allclose(out, gated_input * expected, atol=1e-6)


def test_attention_map_carries_gradients_to_the_gate(registry):
    module = registry.create("attention", "spatial", 8)
    module(torch.randn(2, 8, 5, 5))
    module.attention_map.mean().backward()
    assert module.inner.conv.conv.weight.grad.abs().sum() > 0


def test_attention_map_recording_survives_deepcopy(registry):
    module = registry.create("attention", "cbam", 8)
    twin = copy.deepcopy(module)
    twin(torch.randn(2, 8, 4, 4))
    assert twin.attention_map.shape == (2, 1, 4, 4)
    assert module.attention_map is None


def test_attention_transformer_matches_manual_blocks(registry):
    torch.manual_seed(0)
    module = registry.create("attention", "transformer", 16, depth=2, num_heads=2).eval()
    x = torch.randn(2, 16, 3, 5)
    tokens = (x + module.position(x)).flatten(2).transpose(1, 2)
    for block in module.blocks:
        tokens = block(tokens)
    assert torch.allclose(module(x), tokens.transpose(1, 2).reshape(2, 16, 3, 5), atol=1e-6)


def test_attention_se_scales_channels_only(registry):
    module = registry.create("attention", "se", 16).eval()
    x = torch.rand(2, 16, 4, 4) + 0.1
    scale = module(x) / x
    # One factor per (sample, channel), in (0, 1) from the sigmoid gate.
    assert torch.allclose(scale, scale[:, :, :1, :1].expand_as(scale), atol=1e-5)
    assert ((scale > 0) & (scale < 1)).all()
    squeeze = F.adaptive_avg_pool2d(x, 1)
    expected = torch.sigmoid(module.fc2(module.act(module.bn(module.fc1(squeeze)))))
    assert torch.allclose(scale[:, :, :1, :1], expected, atol=1e-5)


def test_attention_parameter_errors_name_the_module(registry):
    with pytest.raises(ConfigError, match=r"transformer: 10 channels .* num_heads=4"):
        registry.create("attention", "transformer", 10)
    with pytest.raises(ConfigError, match=r"eca: kernel_size must be a positive odd integer"):
        registry.create("attention", "eca", 16, kernel_size=4)


def test_attention_hooks_import_neither_torch_nor_timm():
    code = (
        "import sys, medfusion_plugin_attention.hooks as h; h.medfusion_register_losses(); "
        "print(sorted({'torch', 'timm'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
