"""CNN backbones: every name builds, wrapper equals timm, families resolve, conformance kit."""

from __future__ import annotations

import subprocess
import sys

import medfusion_plugin_cnn.hooks as hooks
import pytest
import timm
import torch

from medfusion_core.errors import ComponentNotFoundError, ConfigError
from medfusion_core.registry import get_registry
from medfusion_core.testing import conformance

PLUGIN = "medfusion-plugin-cnn"
ALL_NAMES = conformance.component_names("backbone", hooks)


@pytest.fixture
def registry(medfusion_host):
    """The registry of an isolated host holding only this plugin."""
    medfusion_host.register(hooks, PLUGIN)
    return get_registry()


def _input(registry, name: str, in_chans: int, batch: int = 2) -> torch.Tensor:
    dims = registry.resolve("backbone", name).extra.get("dims", 2)
    return torch.randn(batch, in_chans, *((8, 32, 32) if dims == 3 else (32, 32)))


@pytest.mark.parametrize(
    ("name", "in_chans"),
    [(name, 1) for name in ALL_NAMES]
    + [(name, 3) for name in ("resnet50", "efficientnet_b0", "resnet3d_18")],
)
def test_cnn_every_backbone_builds(registry, name, in_chans):
    # Shapes are propagated on the meta device: the real module code runs, without the arithmetic.
    with torch.device("meta"):
        backbone = registry.create("backbone", name, in_chans=in_chans).eval()
        x = _input(registry, name, in_chans)
        feature_map = backbone.forward_features(x)
        pooled = backbone.pool(feature_map)
    assert feature_map.shape[:2] == (2, backbone.feature_channels)
    assert tuple(pooled.shape) == (2, backbone.out_features)


def test_cnn_registers_explicit_names_families_and_3d(registry):
    names = registry.names("backbone")
    assert {"resnet18", "efficientnet_b0", "convnext_atto", "densenet121", "mobilenetv3_small_100"} <= set(
        names
    )
    assert {"resnet*", "efficientnet*", "convnext*", "densenet*", "mobilenetv3*", "regnet*"} <= set(names)
    assert registry.names("backbone", "resnet*") == [
        "resnet*",
        "resnet18",
        "resnet34",
        "resnet3d_*",
        "resnet3d_10",
        "resnet3d_18",
        "resnet3d_34",
        "resnet50",
    ]
    assert registry.resolve("backbone", "resnet3d_18").extra["dims"] == 3
    assert registry.resolve("backbone", "resnet3d_50").name == "resnet3d_*"
    assert registry.resolve("backbone", "resnet26d").name == "resnet*"


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_small_100"])
def test_cnn_pooled_features_equal_timm(registry, name):
    torch.manual_seed(0)
    backbone = registry.create("backbone", name, in_chans=1).eval()
    reference = timm.create_model(name, num_classes=0, in_chans=1).eval()
    reference.load_state_dict(backbone.model.state_dict())
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        expected = reference.forward_head(reference.forward_features(x), pre_logits=True)
        assert torch.allclose(backbone(x), expected, atol=1e-6)
        assert torch.allclose(backbone.forward_features(x), reference.forward_features(x), atol=1e-6)
    assert backbone.out_features == expected.shape[1]


def test_cnn_family_member_builds_and_runs(registry):
    backbone = registry.create("backbone", "resnet10t", in_chans=3, drop_rate=0.1).eval()
    assert isinstance(backbone.model, timm.models.ResNet)
    with torch.no_grad():
        assert backbone(torch.randn(2, 3, 32, 32)).shape == (2, backbone.out_features)


def test_cnn_unknown_family_member_suggests_names(registry):
    with pytest.raises(ComponentNotFoundError, match=r"'resnet19'.*did you mean.*'resnet18'"):
        registry.create("backbone", "resnet19", in_chans=3)
    with pytest.raises(ComponentNotFoundError, match="resnet3d_10, resnet3d_18, resnet3d_34"):
        registry.create("backbone", "resnet3d_50", in_chans=1)


def test_cnn_rejected_parameter_is_a_config_error(registry):
    with pytest.raises(ConfigError, match=r"'densenet121'.*drop_path_rate.*model\.backbone\.params"):
        registry.create("backbone", "densenet121", in_chans=1, drop_path_rate=0.1)
    assert "drop_path_rate" not in registry.resolve("backbone", "densenet121").params
    assert "drop_path_rate" in registry.resolve("backbone", "resnet18").params


def test_cnn_timm_backbone_conformance(registry):
    conformance.check_backbone("regnetx_002", in_chans=1)


def test_cnn_resnet3d_conformance(registry):
    conformance.check_backbone("resnet3d_10", in_chans=1, input_size=(8, 16, 16), params={"base_width": 8})


def test_cnn_hooks_import_neither_torch_nor_timm():
    code = (
        "import sys, medfusion_plugin_cnn.hooks as h; h.medfusion_register_backbones(); "
        "print(sorted({'torch', 'timm'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
