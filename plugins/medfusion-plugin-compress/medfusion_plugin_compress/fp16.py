"""FP16 ONNX for GPUs: weights and activations in half precision, inputs and outputs kept fp32.

Verification runs on ONNX Runtime's CPU provider, which executes the fp16 graph: the weights are
fp16 and so is every tensor between nodes; a node without an fp16 CPU kernel is computed in fp32
between the casts ONNX Runtime inserts. So the AUROC check covers the fp16 rounding of weights and
activations. What a CPU cannot show: a GPU provider's own fp16 kernels (their accumulation
precision, algorithm choice) and the GPU latency; the CPU latency of an fp16 graph (slowed by those
casts) says nothing about a GPU."""

from __future__ import annotations

from pathlib import Path


def convert_fp16(source: Path, target: Path) -> str:
    """Write the FP16 conversion of ``source`` to ``target``; returns the method as a line."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))
    return (
        "FP16 weights and activations (inputs and outputs stay fp32), for GPU execution providers; "
        "verified on ONNX Runtime's CPU provider (GPU kernels and GPU latency not measured here; "
        "the CPU latency is not a GPU figure)"
    )
