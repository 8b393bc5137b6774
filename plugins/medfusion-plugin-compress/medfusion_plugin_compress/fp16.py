"""FP16 ONNX for GPUs: weights and activations in half precision, inputs and outputs kept fp32."""

from __future__ import annotations

from pathlib import Path


def convert_fp16(source: Path, target: Path) -> str:
    """Write the FP16 conversion of ``source`` to ``target``; returns the method as a line."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))
    return "FP16 weights and activations (inputs and outputs stay fp32); meant for GPU execution providers"
