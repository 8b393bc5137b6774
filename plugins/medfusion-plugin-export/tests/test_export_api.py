"""The lower-level export API on a stand-in model: artifacts, metadata, verification, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from medfusion_plugin_export.api import export_model
from medfusion_plugin_export.signature import INPUT_NAMES, InputSpec, random_inputs

from medfusion_core.errors import ExportError

sys.path.insert(0, str(Path(__file__).parent))
from export_standin import DataDependent, StandIn

SPEC = InputSpec(views=3, channels=1, size=(32, 32), clinical_features=5)
METADATA = {"task": {"type": "binary", "threshold": 0.3}, "model_card": {"config_hash": "abc"}}


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    model = StandIn().eval()
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    return model, export_model(model, path, fmt="onnx", metadata=METADATA, input_spec=SPEC)


def test_onnx_batch_dimension_is_one_shared_symbol(onnx_export) -> None:
    _, result = onnx_export
    graph = onnx.load(str(result.artifact)).graph
    first_dims = [value.type.tensor_type.shape.dim[0] for value in [*graph.input, *graph.output]]
    assert [value.name for value in graph.input] == list(INPUT_NAMES)
    assert all(dim.dim_param and not dim.dim_value for dim in first_dims)
    assert len({dim.dim_param for dim in first_dims}) == 1


def test_onnx_runtime_matches_eager_at_batch_1_and_7(onnx_export) -> None:
    model, result = onnx_export
    session = ort.InferenceSession(str(result.artifact), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        inputs = random_inputs(SPEC, batch, seed=100 + batch)
        got = session.run(None, {n: t.numpy() for n, t in zip(INPUT_NAMES, inputs, strict=True)})[0]
        with torch.no_grad():
            expected = model(*inputs).numpy()
        assert got.shape == (batch, 1)
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_metadata_in_sidecar_and_metadata_props(onnx_export) -> None:
    _, result = onnx_export
    sidecar = json.loads(result.sidecar.read_text())
    assert result.sidecar.name == "model.onnx.json"
    assert sidecar["task"] == METADATA["task"]
    assert sidecar["inputs"]["views"] == 3 and sidecar["inputs"]["size"] == [32, 32]
    verification = sidecar["verification"]
    assert verification["passed"] and verification["max_abs_diff"] <= 1e-4
    assert verification["n_samples"] == 6 and verification["batch_sizes"] == [1, 5]
    assert "onnx.checker full_check" in verification["checks"]
    props = {p.key: p.value for p in onnx.load(str(result.artifact)).metadata_props}
    assert json.loads(props["medfusion.task"]) == METADATA["task"]
    assert json.loads(props["medfusion.inputs"]) == sidecar["inputs"]


@pytest.mark.parametrize("fmt", ["pt2", "torchscript"])
def test_pt2_and_torchscript_verify_and_embed_metadata(tmp_path: Path, fmt: str) -> None:
    torch.manual_seed(1)
    model = StandIn(channels=3, outputs=4).eval()
    spec = InputSpec(views=2, channels=3, size=(32, 32), clinical_features=5)
    result = export_model(model, tmp_path / f"model.{fmt}", fmt=fmt, metadata=METADATA, input_spec=spec)
    assert result.verification.passed and result.verification.n_samples == 6
    inputs = random_inputs(spec, 3, seed=7)
    with torch.no_grad():
        expected = model(*inputs)
    if fmt == "pt2":
        extra = {"medfusion.json": ""}
        loaded = torch.export.load(str(result.artifact), extra_files=extra).module()
    else:
        extra = {"medfusion.json": ""}
        loaded = torch.jit.load(str(result.artifact), _extra_files=extra)
    torch.testing.assert_close(loaded(*inputs), expected, atol=1e-5, rtol=1e-5)
    assert json.loads(extra["medfusion.json"])["task"] == METADATA["task"]


def test_unexportable_component_is_named_in_a_one_line_error(tmp_path: Path) -> None:
    model = StandIn(fusion=DataDependent())
    path = tmp_path / "bad.pt2"
    with pytest.raises(ExportError) as info:
        export_model(
            model,
            path,
            fmt="pt2",
            metadata={},
            input_spec=SPEC,
            component_labels={"fusion": "fusion 'data_dependent'"},
        )
    message = str(info.value)
    assert "fusion 'data_dependent'" in message and "\n" not in message
    assert not path.exists() and not Path(f"{path}.json").exists()


def test_verification_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medfusion_plugin_export.backends import pt2

    original = pt2.Pt2Backend.open

    def perturbed(self, path):
        run, checks = original(self, path)
        return (lambda batch: run(batch) + 1e-3), checks

    monkeypatch.setattr(pt2.Pt2Backend, "open", perturbed)
    with pytest.raises(ExportError, match=r"max abs diff 0\.001"):
        export_model(StandIn(), tmp_path / "m.pt2", fmt="pt2", metadata={}, input_spec=SPEC)
    assert not (tmp_path / "m.pt2").exists()


def test_unknown_format_and_batch_one_examples_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_model(StandIn(), tmp_path / "m", fmt="tflite", metadata={}, input_spec=SPEC)
    with pytest.raises(ExportError, match="at least 2"):
        export_model(
            StandIn(), tmp_path / "m.onnx", fmt="onnx", metadata={}, example_inputs=random_inputs(SPEC, 1)
        )
