"""ViT/DeiT backbones: every name builds, patch-token map and pooling equal timm, local weights."""

from __future__ import annotations

import subprocess
import sys

import medfusion_plugin_vit.hooks as hooks
import pytest
import timm
import torch

from medfusion_core.errors import ConfigError
from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance

ALL_NAMES = conformance.component_names("backbone", hooks)
#: Two blocks instead of twelve (timm keyword arguments pass through) so real runs stay fast.
SHALLOW = {"img_size": 32, "depth": 2}


@pytest.fixture
def registry(medfusion_host):
    """The registry of an isolated host holding only this plugin."""
    medfusion_host.register(hooks, "medfusion-plugin-vit")
    return get_registry()


@pytest.mark.parametrize(
    ("name", "in_chans"), [(name, 1) for name in ALL_NAMES] + [("vit_small_patch16_224", 3)]
)
def test_vit_every_backbone_builds(registry, name, in_chans):
    with torch.device("meta"):
        backbone = registry.create("backbone", name, in_chans=in_chans, img_size=64).eval()
        feature_map = backbone.forward_features(torch.empty(2, in_chans, 64, 64))
        pooled = backbone.pool(feature_map)
    patch = backbone.model.patch_embed.patch_size[0]
    assert tuple(feature_map.shape) == (2, backbone.feature_channels, 64 // patch, 64 // patch)
    assert tuple(pooled.shape) == (2, backbone.out_features)


def test_vit_families_and_names_are_listed(registry):
    assert registry.names("backbone", "deit*") == [
        "deit3_*",
        "deit_*",
        "deit_base_patch16_224",
        "deit_small_patch16_224",
        "deit_tiny_patch16_224",
    ]
    assert registry.resolve("backbone", "vit_large_patch16_224").name == "vit_*"
    assert set(registry.resolve("backbone", "vit_tiny_patch16_224").params) >= {"img_size", "drop_path_rate"}


@torch.no_grad()
def test_vit_map_and_pooled_features_equal_timm(registry):
    torch.manual_seed(0)
    backbone = registry.create("backbone", "vit_tiny_patch16_224", in_chans=1, **SHALLOW).eval()
    reference = timm.create_model(
        "vit_tiny_patch16_224", num_classes=0, in_chans=1, global_pool="avg", fc_norm=False, **SHALLOW
    ).eval()
    reference.load_state_dict(backbone.model.state_dict())
    x = torch.randn(2, 1, 32, 32)
    tokens = reference.forward_features(x)
    feature_map = backbone.forward_features(x)
    # Patch token (row i, column j) of the 2x2 grid sits after the class token at 1 + 2 * i + j.
    for i in range(2):
        for j in range(2):
            assert torch.allclose(feature_map[:, :, i, j], tokens[:, 1 + 2 * i + j], atol=1e-6)
    assert torch.allclose(backbone(x), reference.forward_head(tokens, pre_logits=True), atol=1e-6)


@torch.no_grad()
def test_vit_standard_timm_checkpoint_loads_and_resizes(registry, tmp_path):
    torch.manual_seed(1)
    source = timm.create_model("deit_tiny_patch16_224", num_classes=4, **SHALLOW).eval()
    path = tmp_path / "deit.pth"
    torch.save(source.state_dict(), path)  # class-token model with head and final norm
    backbone = registry.create("backbone", "deit_tiny_patch16_224", in_chans=3, pretrained=path, **SHALLOW)
    x = torch.randn(2, 3, 32, 32)
    patch_tokens = source.forward_features(x)[:, 1:]
    assert torch.allclose(backbone.eval()(x), patch_tokens.mean(dim=1), atol=1e-5)
    # Another image size: timm's checkpoint filter resamples the position embeddings.
    larger = registry.create(
        "backbone", "deit_tiny_patch16_224", in_chans=1, pretrained=path, img_size=64, depth=2
    )
    assert larger.eval()(torch.randn(2, 1, 64, 64)).shape == (2, 192)


def test_vit_other_architectures_are_refused(registry):
    with pytest.raises(ConfigError, match=r"'vit_small_patch16_rope_224'.*another architecture"):
        registry.create("backbone", "vit_small_patch16_rope_224", in_chans=1)


def test_vit_conformance(registry):
    conformance.check_backbone("vit_tiny_patch16_224", in_chans=1, params=SHALLOW)


def test_vit_hooks_import_neither_torch_nor_timm():
    code = (
        "import sys, medfusion_plugin_vit.hooks as h; h.medfusion_register_backbones(); "
        "print(sorted({'torch', 'timm'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
