"""Every first-party fusion and aggregator, with a timm CNN and a timm Swin backbone, exports to
ONNX and .pt2 and passes verification (ONNX Runtime / the loaded program vs eager PyTorch).

To stay fast the cases are not the full cross product: each backbone gets one case per fusion,
paired with the aggregators in turn, so every fusion and every aggregator meets both backbones.
The Swin is timm's ``swin_tiny_patch4_window7_224`` architecture shrunk (two one-block stages,
32x32 input, 4x4 windows) so it keeps shifted-window attention but exports in seconds.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_fusion.hooks as fusions
import pytest
import torch
from medfusion_plugin_export.api import export_formats
from medfusion_plugin_export.signature import InputSpec

from medfusion_core.config import structure_config
from medfusion_core.model import build_model
from medfusion_core.testing import conformance

cnn = pytest.importorskip("medfusion_plugin_cnn.hooks")
swin = pytest.importorskip("medfusion_plugin_swin.hooks")

FUSIONS = conformance.component_names("fusion", fusions)
AGGREGATORS = conformance.component_names("aggregator", aggregators)
BACKBONES = {
    "cnn": ("resnet10t", {}),
    "swin": (
        "swin_tiny_patch4_window7_224",
        {"img_size": 32, "depths": [1, 1], "num_heads": [2, 4], "embed_dim": 32, "window_size": 4},
    ),
}
SPEC = InputSpec(views=3, channels=1, size=(32, 32), clinical_features=6)


def _cases() -> list[tuple[str, str, str]]:
    """``(backbone, fusion, aggregator)``: every fusion once per backbone, aggregators cycled
    (shifted for the second backbone so it meets other pairs)."""
    cases = []
    for shift, backbone in enumerate(BACKBONES):
        cycled = itertools.islice(itertools.cycle(AGGREGATORS[shift:] + AGGREGATORS[:shift]), len(FUSIONS))
        cases += [(backbone, fusion, aggregator) for fusion, aggregator in zip(FUSIONS, cycled, strict=True)]
    return cases


def test_cases_cover_every_component_with_both_backbones() -> None:
    cases = _cases()
    assert len(FUSIONS) >= 2 and len(AGGREGATORS) >= 2
    for backbone in BACKBONES:
        assert {f for b, f, _ in cases if b == backbone} == set(FUSIONS)
        assert {a for b, _, a in cases if b == backbone} == set(AGGREGATORS)


@pytest.mark.parametrize(("backbone", "fusion", "aggregator"), _cases())
def test_exports_to_onnx_and_pt2(medfusion_host, tmp_path: Path, backbone: str, fusion: str, aggregator: str):
    for module, name in ((cnn, "cnn"), (swin, "swin"), (fusions, "fusion"), (aggregators, "aggregators")):
        medfusion_host.register(module, f"medfusion-plugin-{name}")
    name, params = BACKBONES[backbone]
    raw = {
        "name": "matrix",
        "data": {"manifest": "unused.csv", "image": {"size": list(SPEC.size), "channels": SPEC.channels}},
        "model": {
            "backbone": {"name": name, "params": params},
            "aggregator": {"name": aggregator},
            "fusion": {"name": fusion},
        },
    }
    torch.manual_seed(0)
    model = build_model(
        structure_config(raw, "<matrix>"), clinical_features=SPEC.clinical_features, num_outputs=2
    )
    paths = {"onnx": tmp_path / "model.onnx", "pt2": tmp_path / "model.pt2"}
    results = export_formats(model, paths, metadata={}, input_spec=SPEC)
    for result in results.values():
        assert result.verification.passed and result.verification.max_abs_diff <= 1e-4
        assert result.verification.batch_sizes == (1, 5) and result.artifact.is_file()
