"""ONNX through ``torch.onnx.export(..., dynamo=True)`` applied to the ``torch.export`` program,
so the one shared dynamic batch dimension carries over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medfusion_core.errors import ExportError
from medfusion_plugin_export.signature import INPUT_NAMES, OUTPUT_NAMES

if TYPE_CHECKING:
    import torch
    from torch import nn

    from medfusion_plugin_export.signature import Traced
    from medfusion_plugin_export.verify import Runner

#: ONNX opset written by the exporter.
OPSET = 18


def metadata_props(metadata: dict[str, Any]) -> dict[str, str]:
    """ONNX ``metadata_props``: one entry per top-level metadata key, the value as JSON text."""
    return {f"medfusion.{key}": json.dumps(value, sort_keys=True) for key, value in metadata.items()}


def export_program(traced: Traced) -> Any:
    """The dynamo ONNX exporter on the ``torch.export`` program; returns the ``ONNXProgram``
    (exceptions propagate)."""
    import torch

    return torch.onnx.export(
        traced.program,
        traced.example_inputs,
        dynamo=True,
        input_names=list(INPUT_NAMES),
        output_names=list(OUTPUT_NAMES),
        opset_version=OPSET,
        optimize=True,
        verbose=False,
        report=False,
    )


class OnnxBackend:
    """The ``onnx`` format (``.onnx``)."""

    format = "onnx"
    suffix = ".onnx"

    def save(self, traced: Traced, path: Path, metadata: str) -> None:
        """Convert the ``torch.export`` program with the dynamo ONNX exporter and store the
        metadata as ``metadata_props``."""
        import onnx

        proto = export_program(traced).model_proto
        for key, value in metadata_props(json.loads(metadata)).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(path))

    def export_component(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Run the dynamo ONNX exporter on one sub-module (static shapes)."""
        import torch

        torch.onnx.export(
            module, args, kwargs=kwargs, dynamo=True, opset_version=OPSET, verbose=False, report=False
        )

    def open(self, path: Path) -> tuple[Runner, list[str]]:
        """``onnx.checker`` (full check), a symbolic batch dimension shared by every input and the
        output, then an ONNX Runtime CPU session as a :data:`Runner`."""
        import onnx

        try:
            onnx.checker.check_model(str(path), full_check=True)
        except onnx.checker.ValidationError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid model"
            raise ExportError(f"{path}: onnx.checker rejected the exported model ({first})") from None
        graph = onnx.load(str(path), load_external_data=False).graph
        batch_dims = {
            value.name: value.type.tensor_type.shape.dim[0].dim_param
            for value in [*graph.input, *graph.output]
        }
        static = sorted(name for name, dim in batch_dims.items() if not dim)
        if static or len(set(batch_dims.values())) != 1:
            raise ExportError(
                f"{path}: the batch dimension is not one shared symbolic dimension "
                f"(got {batch_dims}); the model specialises on the batch size somewhere"
            )
        checks = ["onnx.checker full_check", f"symbolic batch dimension {next(iter(batch_dims.values()))!r}"]
        return session_runner(path), checks


def session_runner(path: Path) -> Runner:
    """An ONNX Runtime CPU session on ``path`` wrapped as a :data:`Runner`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(batch: tuple[torch.Tensor, ...]) -> np.ndarray:
        feeds = {name: tensor.detach().cpu().numpy() for name, tensor in zip(INPUT_NAMES, batch, strict=True)}
        return session.run(None, feeds)[0]

    return run


BACKEND = OnnxBackend()
