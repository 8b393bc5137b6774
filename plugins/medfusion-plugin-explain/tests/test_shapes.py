"""Map shapes: multi-view batches with an absent view, 3D volumes, every first-party backbone
family (tiny timm configs, random init) and the attention read-outs."""

from __future__ import annotations

import medfusion_plugin_cnn.hooks as cnn
import medfusion_plugin_swin.hooks as swin
import medfusion_plugin_vit.hooks as vit
import pytest
import torch
from explain_helpers import batch_of, register, tiny_model
from medfusion_plugin_cnn.catalog import FAMILIES
from medfusion_plugin_explain.cam import METHODS, attention_read_out, class_activation_maps
from medfusion_plugin_explain.overlay import overlay_figure, shown_slices

from medfusion_core.kinds.backbone import CamTarget
from medfusion_core.testing.conformance import check_backbone
from medfusion_core.testing.tiny_backbone import TinyBackbone


@pytest.fixture
def host(medfusion_host):
    register(medfusion_host)
    for module, name in [(cnn, "cnn"), (vit, "vit"), (swin, "swin")]:
        medfusion_host.register(module, f"medfusion-plugin-{name}")
    return medfusion_host


def _check(maps: dict[str, torch.Tensor], view_mask: torch.Tensor, shape: tuple[int, ...]) -> None:
    """Shape, range, zeros for absent views, peaks of 1 (a map can be all zero: with random
    weights every weighted channel sum may be negative at once), and some map not constant."""
    spread = [float(maps[m][view_mask].flatten(1).std(dim=1).max()) for m in METHODS]
    assert max(spread) > 0, "every map is constant"
    for method in METHODS:
        saliency = maps[method]
        assert saliency.shape == shape, method
        assert torch.isfinite(saliency).all() and saliency.min() >= 0 and saliency.max() <= 1
        assert (saliency[~view_mask] == 0).all(), "an absent view has a map"
        peaks = saliency[view_mask].flatten(1).amax(dim=1)
        assert ((peaks == 0) | torch.isclose(peaks, torch.ones_like(peaks))).all(), "peaks are 1"


def test_multi_view_with_an_absent_view(host):
    model = tiny_model()
    images = torch.randn(3, 2, 1, 32, 32)
    view_mask = torch.tensor([[True, True], [True, False], [True, True]])
    maps, logits = class_activation_maps(model, batch_of(images, view_mask=view_mask), task="binary")
    assert logits.shape == (3, 1)
    _check(maps, view_mask, (3, 2, 32, 32))


def test_volumes(host):
    model = tiny_model(backbone="tiny3d_a", size=[8, 16, 16])
    images = torch.randn(2, 2, 1, 8, 16, 16)
    view_mask = torch.tensor([[True, False], [True, True]])
    maps, _ = class_activation_maps(model, batch_of(images, view_mask=view_mask), task="binary")
    _check(maps, view_mask, (2, 2, 8, 16, 16))
    slices = shown_slices(8, maps["gradcam"][0, 0].numpy())
    assert int(maps["gradcam"][0, 0].flatten().argmax()) // (16 * 16) in slices
    figure = overlay_figure(images[0, 0].numpy(), {k: v[0, 0].numpy() for k, v in maps.items()}, "volume")
    assert len(figure.axes) == len(slices) * (1 + len(METHODS))


FAMILY_CASES = {
    **{family.pattern: (family.example, {}, [64, 64]) for family in FAMILIES},
    "densenet*": ("densenet121", {}, [64, 64]),  # the family's smallest member
    "resnet3d_*": ("resnet3d_10", {"base_width": 8}, [32, 64, 64]),
    "vit_*": ("vit_tiny_patch16_224", {"img_size": 32, "depth": 2}, [32, 32]),
    "swin_*": (
        "swin_tiny_patch4_window7_224",
        {"img_size": 32, "window_size": 4, "embed_dim": 16, "depths": [2, 2], "num_heads": [1, 2]},
        [32, 32],
    ),
}


@pytest.mark.parametrize("family", list(FAMILY_CASES))
def test_every_backbone_family_gives_a_map(host, family):
    name, params, size = FAMILY_CASES[family]
    model = tiny_model(backbone=name, params=params, size=size).eval()
    assert hasattr(model.image_encoder.backbone, "cam_target"), f"{family} names no Grad-CAM layer"
    images = torch.randn(4, 1, 1, *size)
    view_mask = torch.ones(4, 1, dtype=torch.bool)
    maps, _ = class_activation_maps(model, batch_of(images), task="binary")
    _check(maps, view_mask, (4, 1, *size))


def test_attention_read_outs(host):
    vit_model = tiny_model(backbone="vit_tiny_patch16_224", params={"img_size": 32, "depth": 2}).eval()
    images = torch.randn(2, 1, 1, 32, 32)
    found = attention_read_out(vit_model, batch_of(images))
    assert set(found) == {"backbone_attention"} and found["backbone_attention"].shape == (2, 1, 32, 32)
    swin_name, swin_params, _ = FAMILY_CASES["swin_*"]
    swin_model = tiny_model(backbone=swin_name, params={**swin_params, "window_size": 2}).eval()
    found = attention_read_out(swin_model, batch_of(images))
    assert set(found) == {"backbone_attention"} and found["backbone_attention"].shape == (2, 1, 32, 32)
    assert float(found["backbone_attention"].std()) > 0, "windows attend unevenly"
    gated = tiny_model(attention="tiny_gate").eval()
    found = attention_read_out(gated, batch_of(images))
    assert set(found) == {"attention_module"} and found["attention_module"].shape == (2, 1, 32, 32)
    assert attention_read_out(tiny_model().eval(), batch_of(images)) == {}


class _UnusedTarget(TinyBackbone):
    """Names a Grad-CAM layer that never runs."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spare = torch.nn.Identity()

    def cam_target(self) -> CamTarget:
        return CamTarget(self.spare)


def test_conformance_kit_checks_cam_target():
    check_backbone(TinyBackbone)
    with pytest.raises(AssertionError, match="cam_target module ran 0 times"):
        check_backbone(_UnusedTarget)
