"""The compressing exporters on a run trained by ``medfusion train`` (resnet10t, 32 px): each
artifact verified by test-split AUROC against fp32, refused when outside the tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import yaml
from medfusion_plugin_compress.exporters import CompressingExporter, Int8Exporter, PrunedExporter
from medfusion_plugin_compress.scoring import session, split_feeds
from medfusion_plugin_export.run_loading import load_run

from medfusion_core.errors import ExportError
from medfusion_core.testing.cli import medfusion


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo-data (40 patients) -> train 2 epochs; the run folder."""
    root = tmp_path_factory.mktemp("compress")
    medfusion("demo-data", root / "data", "--patients", 40, "--seed", 2).ok()
    path = root / "data" / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["data"]["image"]["size"] = [32, 32]
    config["data"]["loader"] = {"backend": "threads", "batch_size": 8, "workers": 1}
    config["model"]["backbone"] = {"name": "resnet10t"}
    config["trainer"]["params"] = {"epochs": 2, "lr": 0.002, "progress": "never"}
    config["runs_dir"] = str(root / "runs")
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    medfusion("train", path).ok()
    return root / "runs" / "demo"


def _sidecar(artifact: Path) -> dict:
    return json.loads(Path(f"{artifact}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fp32(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's plain fp32 ONNX export through the CLI."""
    path = tmp_path_factory.mktemp("fp32") / "fp32.onnx"
    medfusion("export", run, "--format", "onnx", "--out", path).ok()
    return path


#: What the INT8 export printed.
INT8_LINES: list[str] = []


@pytest.fixture(scope="module")
def int8(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static INT8 of the run, accepted with a tolerance of 0.5; the artifact."""
    out = tmp_path_factory.mktemp("int8") / "m.onnx"
    return Int8Exporter(tolerance=0.5, verbose=True, echo=INT8_LINES.append).export(run, out)


def test_int8_is_calibrated_on_the_training_split_and_verified(run: Path, int8: Path, fp32: Path) -> None:
    artifact, lines = int8, INT8_LINES
    figures = _sidecar(artifact)["compression"]
    assert figures["method"].startswith("static INT8 (QDQ, per-channel weights), calibrated on 24 training")
    assert figures["split"] == "test" and figures["patients"] == 8 and figures["passed"]
    assert figures["size_ratio"] < 0.35  # INT8 weights: about a quarter of fp32
    assert f"AUROC on 8 test patients {figures['auroc']:.4f} vs fp32 {figures['auroc_fp32']:.4f}" in lines[1]
    assert "size" in lines[2] and "latency" in lines[2]
    ops = {node.op_type for node in onnx.load(str(artifact)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    # The artifact scores like fp32 up to quantization error, with the same embedded metadata.
    loaded = load_run(run)
    feeds, _ = next(split_feeds(loaded, "test"))
    int8 = session(artifact).run(None, feeds)[0]
    dense = session(fp32).run(None, feeds)[0]
    assert np.abs(1 / (1 + np.exp(-int8)) - 1 / (1 + np.exp(-dense))).max() < 0.1
    props = {p.key: p.value for p in onnx.load(str(artifact)).metadata_props}
    assert json.loads(props["medfusion.format"]) == "onnx-int8"
    assert json.loads(props["medfusion.inputs"]) == _sidecar(fp32)["inputs"]


def test_int8_without_calibration_falls_back_to_dynamic_and_says_so(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.onnx"
    args = ["export", run, "--format", "onnx-int8", "--out", out, "--param", "calibration=0"]
    outcome = medfusion(*args, "--param", "tolerance=0.5").ok()
    method = _sidecar(out)["compression"]["method"]
    assert method == (
        "dynamic INT8 (weights INT8, activations quantized at run time) as fallback: "
        "no calibration patients in the training split"
    )
    assert f"onnx-int8: {method}" in outcome.out.splitlines()


def test_a_misspelt_exporter_parameter_is_a_one_line_error(run: Path) -> None:
    outcome = medfusion("export", run, "--format", "onnx-int8", "--param", "tolerence=0.1")
    assert outcome.code == 2 and outcome.err.strip() == (
        "error: --param tolerence: unknown parameter of exporter 'onnx-int8'; did you mean "
        "'tolerance'? allowed: tolerance, calibration"
    )


def _torch_fp16_logits(run: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """The eager model in torch float16 on ``feeds`` (an fp16 implementation independent of ORT)."""
    model = load_run(run).model.half()
    tensors = [torch.from_numpy(value) for value in feeds.values()]
    inputs = [t.half() if t.dtype == torch.float32 else t for t in tensors]
    with torch.no_grad():
        return model(*inputs).float().numpy()


def test_fp16_through_export_and_predict(run: Path, fp32: Path, tmp_path: Path) -> None:
    outcome = medfusion("export", run, "--format", "onnx-fp16").ok()
    artifact = run / "export" / "fused.fp16.onnx"
    figures = _sidecar(artifact)["compression"]
    assert abs(figures["change"]) <= 0.02 and 0.45 < figures["size_ratio"] < 0.55
    assert f"onnx-fp16: AUROC on 8 test patients {figures['auroc']:.4f}" in outcome.out
    assert "verified on ONNX Runtime's CPU provider (GPU kernels and GPU latency not measured" in outcome.out
    graph = onnx.load(str(artifact)).graph
    assert onnx.TensorProto.FLOAT16 not in [i.type.tensor_type.elem_type for i in graph.input]  # fp32 in
    float_weights = [init.data_type for init in graph.initializer if init.data_type != onnx.TensorProto.INT64]
    assert float_weights and set(float_weights) == {onnx.TensorProto.FLOAT16}
    # The CPU provider's scores (what the AUROC check used) carry fp16 rounding and agree with the
    # eager model run in torch float16.
    feeds, _ = next(split_feeds(load_run(run), "test"))
    half, dense = session(artifact).run(None, feeds)[0], session(fp32).run(None, feeds)[0]
    scale = np.abs(dense).max() + 1.0
    assert 0 < np.abs(half - dense).max() < 0.02 * scale
    assert np.abs(half - _torch_fp16_logits(run, feeds)).max() < 0.02 * scale
    manifest = run.parent.parent / "data" / "manifest.csv"
    medfusion("predict", "--model", artifact, manifest, "--out", tmp_path / "p.csv").ok()
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 41


def _conv_out_channels(artifact: Path) -> list[int]:
    """Output channels of the graph's convolution weights, in initializer order."""
    return [int(init.dims[0]) for init in onnx.load(str(artifact)).graph.initializer if len(init.dims) == 4]


def test_pruning_removes_channels_fine_tunes_and_shrinks_onnx(run: Path, fp32: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    artifact = PrunedExporter(amount=0.25, tolerance=0.5, verbose=True, echo=lines.append).export(
        run, tmp_path / "p.onnx"
    )
    figures = _sidecar(artifact)["compression"]
    method = figures["method"]
    assert method.startswith("structured L1 pruning: ") and "channels removed from" in method
    assert "widths kept at multiples of 8" in figures["method"]
    assert "fine-tuned 1 epoch(s) at lr 0.0001" in figures["method"]
    assert figures["passed"] and figures["split"] == "test" and figures["patients"] == 8
    # resnet10t: a quarter of the blocks' inner and the stem's channels gone -> about 0.77x the bytes
    assert figures["size_ratio"] < 0.85
    assert f"pruned: size {figures['size'] / 1e6:.2f} MB vs fp32" in lines[2]
    dense, pruned = _conv_out_channels(fp32), _conv_out_channels(artifact)
    assert len(pruned) == len(dense)
    narrowed = [(before, after) for before, after in zip(dense, pruned, strict=True) if after != before]
    # the first conv of each of the 4 basic blocks and 2 of the deep stem's 3 convs lose a quarter of
    # their filters (kept widths at multiples of 8); the residual stream keeps its width
    assert len(narrowed) == 6 and all(after == 8 * round(before * 0.75 / 8) for before, after in narrowed)
    # the artifact scores through predict like any ONNX export
    manifest = run.parent.parent / "data" / "manifest.csv"
    medfusion("predict", "--model", artifact, manifest, "--out", tmp_path / "p.csv").ok()
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 41


class ReversedExporter(CompressingExporter):
    """A "compression" that negates the model's logits: its test-split AUROC is 1 - AUROC(fp32),
    a known change of 1 - 2 AUROC(fp32) that the verification must refuse."""

    format = "onnx-reversed"
    tag = "reversed"

    def compress(self, run, reference: Path, target: Path, folder: Path) -> str:
        model = onnx.load(str(reference))
        logits = model.graph.output[0].name
        for node in model.graph.node:
            node.output[:] = [f"{name}_raw" if name == logits else name for name in node.output]
        model.graph.node.append(onnx.helper.make_node("Neg", [f"{logits}_raw"], [logits]))
        onnx.save(model, str(target))
        return "logits negated (test)"


def test_an_artifact_outside_the_tolerance_is_refused_and_not_written(run: Path, tmp_path: Path) -> None:
    probe = ReversedExporter(tolerance=1.0).export(run, tmp_path / "probe.onnx")
    figures = _sidecar(probe)["compression"]
    assert figures["auroc"] == pytest.approx(1 - figures["auroc_fp32"])
    change = abs(figures["change"])
    assert change > 0, "the trained model's test AUROC is exactly 0.5: nothing can be refused"
    out = tmp_path / "refused.onnx"
    with pytest.raises(ExportError) as caught:
        ReversedExporter(tolerance=change / 2).export(run, out)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("onnx-reversed: AUROC on the test split ")
    assert f"is outside the tolerance ±{change / 2:g}; artifact not written" in message
    assert not out.exists() and not Path(f"{out}.json").exists()
