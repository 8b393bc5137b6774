"""Local pretrained weights: round trips, input-channel adaptation, classifier dropping, errors."""

from __future__ import annotations

import medfusion_plugin_cnn.hooks as hooks
import pytest
import timm
import torch
from medfusion_plugin_cnn.weights import adapt_input_channels
from timm.models import adapt_input_conv

from medfusion_core.errors import CheckpointError
from medfusion_core.registry import get_registry


@pytest.fixture
def registry(medfusion_host):
    """The registry of an isolated host holding only this plugin."""
    medfusion_host.register(hooks, "medfusion-plugin-cnn")
    return get_registry()


@pytest.fixture(scope="module")
def timm_resnet18_file(tmp_path_factory):
    """A plain timm resnet18 (3 channels, 7-class classifier) and its saved state_dict."""
    torch.manual_seed(1)
    model = timm.create_model("resnet18", num_classes=7).eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return model, path


def _pre_logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.forward_head(model.forward_features(x), pre_logits=True)


@torch.no_grad()
def test_cnn_timm_file_loads_without_its_classifier(registry, timm_resnet18_file):
    model, path = timm_resnet18_file
    backbone = registry.create("backbone", "resnet18", in_chans=3, pretrained=str(path)).eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(backbone(x), _pre_logits(model, x), atol=1e-6)


@torch.no_grad()
def test_cnn_one_channel_adaptation_equals_grey_image_replicated(registry, timm_resnet18_file):
    model, path = timm_resnet18_file
    backbone = registry.create("backbone", "resnet18", in_chans=1, pretrained=path).eval()
    grey = torch.randn(2, 1, 32, 32)
    # Summed RGB kernels on one channel == the RGB model on the grey image copied to three channels.
    assert torch.allclose(backbone(grey), _pre_logits(model, grey.repeat(1, 3, 1, 1)), atol=1e-5)


@torch.no_grad()
def test_cnn_wrapper_state_dict_round_trip(registry, tmp_path):
    torch.manual_seed(2)
    first = registry.create("backbone", "regnetx_002", in_chans=1).eval()
    path = tmp_path / "regnet.pt"
    torch.save(first.state_dict(), path)  # keys carry the wrapper's "model." prefix
    second = registry.create("backbone", "regnetx_002", in_chans=1, pretrained=path).eval()
    x = torch.randn(2, 1, 32, 32)
    assert torch.allclose(first(x), second(x), atol=1e-6)


@torch.no_grad()
def test_cnn_resnet3d_round_trip_with_channel_adaptation(registry, tmp_path):
    torch.manual_seed(3)
    source = registry.create("backbone", "resnet3d_10", in_chans=1, base_width=8).eval()
    path = tmp_path / "r3d.pt"
    torch.save({"state_dict": source.state_dict()}, path)
    same = registry.create("backbone", "resnet3d_10", in_chans=1, base_width=8, pretrained=path).eval()
    three = registry.create("backbone", "resnet3d_10", in_chans=3, base_width=8, pretrained=path).eval()
    volume = torch.randn(2, 1, 8, 16, 16)
    assert torch.allclose(same(volume), source(volume), atol=1e-6)
    # One-channel kernels spread over three identical channels (each divided by 3) give the same output.
    assert torch.allclose(three(volume.repeat(1, 3, 1, 1, 1)), source(volume), atol=1e-5)


@pytest.mark.parametrize("in_chans", [1, 2, 3, 5])
def test_cnn_channel_adaptation_matches_timm_for_rgb_kernels(in_chans):
    weight = torch.randn(8, 3, 3, 3)
    assert torch.allclose(adapt_input_channels(weight, in_chans), adapt_input_conv(in_chans, weight))


def test_cnn_channel_adaptation_of_grey_and_3d_kernels():
    grey = torch.randn(4, 1, 3, 3, 3)
    assert torch.allclose(adapt_input_channels(grey, 3), grey.repeat(1, 3, 1, 1, 1) / 3)
    volume_rgb = torch.randn(4, 3, 3, 3, 3)
    assert torch.allclose(adapt_input_channels(volume_rgb, 1), volume_rgb.sum(dim=1, keepdim=True))
    four = adapt_input_channels(volume_rgb, 4)
    assert torch.allclose(four[:, 3], volume_rgb[:, 0] * 0.75)


def test_cnn_missing_file_is_a_clear_error(registry, tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(CheckpointError, match=r"nope\.pth.*does not exist"):
        registry.create("backbone", "resnet18", in_chans=3, pretrained=str(missing))


def test_cnn_incompatible_file_is_a_clear_error(registry, tmp_path, timm_resnet18_file):
    _, path = timm_resnet18_file
    with pytest.raises(CheckpointError, match=r"resnet18\.pth.*does not match ResNet.*(missing|unexpected)"):
        registry.create("backbone", "resnet34", in_chans=3, pretrained=path)
    not_weights = tmp_path / "notes.pth"
    torch.save({"epoch": 3}, not_weights)
    with pytest.raises(CheckpointError, match=r"notes\.pth.*state_dict of tensors"):
        registry.create("backbone", "resnet18", in_chans=3, pretrained=not_weights)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=r"garbage\.pth.*cannot be read"):
        registry.create("backbone", "resnet18", in_chans=3, pretrained=garbage)
