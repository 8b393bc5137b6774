"""Every first-party fusion and aggregator, with a timm CNN and a timm Swin backbone, exports to
ONNX and .pt2 and passes verification (ONNX Runtime / the loaded program vs eager PyTorch).

Each backbone gets one case per fusion, paired with the aggregators in turn, so every fusion and
every aggregator meets both backbones in the fewest exports (one ``torch.export`` trace per case,
shared by both formats). The models are as small as the components allow: the CNN is
``resnet10t`` (the smallest first-party timm CNN); the Swin is ``swin_tiny_patch4_window7_224``
shrunk through the plugin's declared parameters to one stage of two blocks on a 8x8 token map
with 4x4 windows, so the second block keeps the shifted-window attention; two views of 32x32.
Configs are read with ``load_config``, which rejects parameters a plugin does not declare, as
for any user config.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import medfusion_plugin_aggregators.hooks as aggregators
import medfusion_plugin_cnn.hooks as cnn
import medfusion_plugin_fusion.hooks as fusions
import medfusion_plugin_swin.hooks as swin
import medfusion_plugin_trainer.hooks as trainer
import pytest
import torch
import yaml
from medfusion_plugin_export.api import export_formats
from medfusion_plugin_export.signature import InputSpec

from medfusion_core.config import load_config
from medfusion_core.host import Host
from medfusion_core.model import build_model
from medfusion_core.testing import conformance, isolated_host

FUSIONS = conformance.component_names("fusion", fusions)
AGGREGATORS = conformance.component_names("aggregator", aggregators)
BACKBONES = {
    "cnn": {"name": "resnet10t"},
    "swin": {
        "name": "swin_tiny_patch4_window7_224",
        "params": {"img_size": 32, "window_size": 4, "embed_dim": 16, "depths": [2], "num_heads": [2]},
    },
}
SPEC = InputSpec(views=2, channels=1, size=(32, 32), clinical_features=4)


def _cases() -> list[tuple[str, str, str]]:
    """``(backbone, fusion, aggregator)``: every fusion once per backbone, aggregators cycled
    (shifted for the second backbone so it meets other pairs)."""
    cases = []
    for shift, backbone in enumerate(BACKBONES):
        cycled = itertools.islice(itertools.cycle(AGGREGATORS[shift:] + AGGREGATORS[:shift]), len(FUSIONS))
        cases += [(backbone, fusion, aggregator) for fusion, aggregator in zip(FUSIONS, cycled, strict=True)]
    return cases


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    """One isolated host with the component plugins, shared by every case."""
    with isolated_host() as shared:
        for module, name in ((cnn, "cnn"), (swin, "swin"), (fusions, "fusion"), (aggregators, "aggregators")):
            shared.register(module, f"medfusion-plugin-{name}")
        shared.register(trainer, "medfusion-plugin-trainer")
        yield shared


def test_cases_cover_every_component_with_both_backbones() -> None:
    cases = _cases()
    assert len(FUSIONS) >= 2 and len(AGGREGATORS) >= 2
    assert len(cases) == len(BACKBONES) * max(len(FUSIONS), len(AGGREGATORS))
    for backbone in BACKBONES:
        assert {f for b, f, _ in cases if b == backbone} == set(FUSIONS)
        assert {a for b, _, a in cases if b == backbone} == set(AGGREGATORS)


@pytest.mark.parametrize(("backbone", "fusion", "aggregator"), _cases())
def test_exports_to_onnx_and_pt2(
    host: Host, tmp_path: Path, backbone: str, fusion: str, aggregator: str
) -> None:
    raw = {
        "name": "matrix",
        "data": {"manifest": "unused.csv", "image": {"size": list(SPEC.size), "channels": SPEC.channels}},
        "model": {
            "backbone": BACKBONES[backbone],
            "aggregator": {"name": aggregator},
            "fusion": {"name": fusion},
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_config(tmp_path / "config.yaml")
    torch.manual_seed(0)
    model = build_model(config, clinical_features=SPEC.clinical_features, num_outputs=2)
    if backbone == "swin":
        shifts = [max(m.shift_size) for m in model.modules() if type(m).__name__ == "SwinTransformerBlock"]
        assert shifts == [0, 2]
    paths = {"onnx": tmp_path / "model.onnx", "pt2": tmp_path / "model.pt2"}
    results = export_formats(model, paths, metadata={}, input_spec=SPEC)
    for result in results.values():
        assert result.verification.passed and result.verification.max_abs_diff <= 1e-4
        assert result.verification.batch_sizes == (1, 5) and result.artifact.is_file()
