"""Swin/SwinV2 backbones: every name builds at 64x64, NCHW map and pooling equal timm, weights."""

from __future__ import annotations

import subprocess
import sys

import medfusion_plugin_swin.hooks as hooks
import pytest
import timm
import torch

from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance

ALL_NAMES = conformance.component_names("backbone", hooks)
#: A small Swin configuration (timm keyword arguments pass through) so real runs stay fast.
SMALL = {"img_size": 64, "embed_dim": 24, "depths": (1, 1, 2, 1), "num_heads": (1, 2, 2, 4)}


@pytest.fixture
def registry(medfusion_host):
    """The registry of an isolated host holding only this plugin."""
    medfusion_host.register(hooks, "medfusion-plugin-swin")
    return get_registry()


@pytest.mark.parametrize(
    ("name", "in_chans"), [(name, 1) for name in ALL_NAMES] + [("swin_tiny_patch4_window7_224", 3)]
)
def test_swin_every_backbone_builds_at_64(registry, name, in_chans):
    with torch.device("meta"):
        backbone = registry.create("backbone", name, in_chans=in_chans, img_size=64).eval()
        feature_map = backbone.forward_features(torch.empty(2, in_chans, 64, 64))
        pooled = backbone.pool(feature_map)
    assert tuple(feature_map.shape) == (2, backbone.feature_channels, 2, 2)
    assert tuple(pooled.shape) == (2, backbone.out_features)


def test_swin_families_and_names_are_listed(registry):
    assert "swin_tiny_patch4_window7_224" in registry.names("backbone", "swin_*")
    assert registry.resolve("backbone", "swinv2_base_window16_256").name == "swinv2_*"
    assert {"img_size", "window_size"} <= set(registry.resolve("backbone", "swinv2_tiny_window8_256").params)


@pytest.mark.parametrize("name", ["swin_tiny_patch4_window7_224", "swinv2_tiny_window8_256"])
@torch.no_grad()
def test_swin_map_and_pooled_features_equal_timm(registry, name):
    torch.manual_seed(0)
    backbone = registry.create("backbone", name, in_chans=1, window_size=4, **SMALL).eval()
    reference = timm.create_model(name, num_classes=0, in_chans=1, window_size=4, **SMALL).eval()
    reference.load_state_dict(backbone.model.state_dict())
    x = torch.randn(2, 1, 64, 64)
    channels_last = reference.forward_features(x)
    assert torch.allclose(backbone.forward_features(x), channels_last.permute(0, 3, 1, 2), atol=1e-6)
    assert torch.allclose(backbone(x), reference.forward_head(channels_last, pre_logits=True), atol=1e-6)


@pytest.mark.filterwarnings("ignore::UserWarning:timm.*")
@torch.no_grad()
def test_swin_local_weights_round_trip_and_new_window(registry, tmp_path):
    torch.manual_seed(1)
    name = "swin_tiny_patch4_window7_224"
    source = timm.create_model(name, num_classes=3, **SMALL).eval()
    path = tmp_path / "swin.pth"
    torch.save(source.state_dict(), path)
    backbone = registry.create("backbone", name, in_chans=3, pretrained=path, **SMALL).eval()
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(backbone(x), source.forward_head(source.forward_features(x), pre_logits=True))
    # A different window: timm's checkpoint filter resizes the relative position bias tables.
    other = registry.create("backbone", name, in_chans=1, pretrained=path, window_size=4, **SMALL)
    assert other.eval()(torch.randn(2, 1, 64, 64)).shape == (2, other.out_features)


def test_swin_conformance(registry):
    conformance.check_backbone(
        "swin_tiny_patch4_window7_224", in_chans=1, input_size=(64, 64), params={**SMALL, "window_size": 4}
    )


def test_swin_hooks_import_neither_torch_nor_timm():
    code = (
        "import sys, medfusion_plugin_swin.hooks as h; h.medfusion_register_backbones(); "
        "print(sorted({'torch', 'timm'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_swin_architecture_params_pass_the_config_check(medfusion_host):
    import medfusion_plugin_aggregators.hooks as aggregators
    import medfusion_plugin_trainer.hooks as trainer

    from medfusion_core.config import check_components, structure_config

    for module, name in ((hooks, "swin"), (aggregators, "aggregators"), (trainer, "trainer")):
        medfusion_host.register(module, f"medfusion-plugin-{name}")
    params = {"img_size": 32, "window_size": 4, "embed_dim": 16, "depths": [2], "num_heads": [2]}
    model = {"modalities": "image", "backbone": {"name": "swin_*", "params": params}}
    config = structure_config({"name": "small", "data": {"manifest": "m.csv"}, "model": model}, "<small>")
    check_components(config, "<small>")  # the check every user config goes through
    backbone = get_registry().create("backbone", "swin_tiny_patch4_window7_224", in_chans=1, **params)
    blocks = [m for m in backbone.modules() if type(m).__name__ == "SwinTransformerBlock"]
    assert [tuple(block.shift_size) for block in blocks] == [(0, 0), (2, 2)]
    assert backbone.eval()(torch.randn(2, 1, 32, 32)).shape == (2, backbone.out_features) == (2, 16)


def test_window_attention_weights_reproduce_timm_output():
    """The weights the attention read-out uses give timm's own WindowAttention output
    (relative position bias and shifted-window mask included)."""
    import torch
    from medfusion_plugin_swin.backbones import create, window_attention

    backbone = create(
        "swin_tiny_patch4_window7_224",
        in_chans=1,
        img_size=32,
        window_size=2,
        embed_dim=16,
        depths=[2, 2],
        num_heads=[1, 2],
    ).eval()
    block = backbone.model.layers[-1].blocks[-1]
    assert any(block.shift_size), "the last block of a stage shifts its windows"
    seen = {}
    handle = block.attn.register_forward_hook(
        lambda _m, args, kwargs, out: seen.update(x=args[0], mask=kwargs.get("mask"), out=out),
        with_kwargs=True,
    )
    with torch.no_grad():
        maps = backbone.attention_maps(torch.randn(2, 1, 32, 32))
        handle.remove()
        attn, x = block.attn, seen["x"]
        weights = window_attention(attn, x, seen["mask"])
        v = attn.qkv(x).reshape(*x.shape[:2], 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)[2]
        out = attn.proj((weights @ v).transpose(1, 2).reshape(*x.shape[:2], -1))
    assert torch.allclose(out, seen["out"], atol=1e-5)
    assert maps.shape == (2, 4, 4)
