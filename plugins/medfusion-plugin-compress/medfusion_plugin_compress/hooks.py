"""Registers the compressing exporters (import strings only: nothing heavy is imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_core.kinds.exporter import ExporterInfo

_COMMON = {
    "variant": Param("str", "fused", "model variant of the run", ("fused", "image", "clinical")),
    "tolerance": Param("float", 0.02, "largest tolerated |AUROC change| vs fp32 on the test split"),
    "held_out": Param("int", 8, "test patients the fp32 reference is checked on against eager PyTorch"),
    "verbose": Param("bool", False, "print the figures"),
}


def _spec(name: str, factory: str, summary: str, **params: Param) -> ComponentSpec:
    return ComponentSpec(
        name,
        "exporter",
        f"medfusion_plugin_compress.exporters:{factory}",
        summary,
        {**_COMMON, **params},
        info=ExporterInfo(formats=[name]),
    )


@hookimpl
def medfusion_register_exporters() -> list[ComponentSpec]:
    """``onnx-int8``, ``onnx-fp16`` and ``pruned``; artifacts are ``.onnx`` files that
    ``medfusion predict --model`` scores with the ONNX exporter's predictor."""
    return [
        _spec(
            "onnx-int8",
            "Int8Exporter",
            "INT8 ONNX: static quantization on training-split calibration (dynamic fallback), verified.",
            calibration=Param("int", 64, "training-split patients for calibration (0: dynamic quantization)"),
        ),
        _spec("onnx-fp16", "Fp16Exporter", "FP16 ONNX for GPUs (fp32 inputs/outputs), AUROC-verified."),
        _spec(
            "pruned",
            "PrunedExporter",
            "Structured-pruned ONNX (channels removed by L1) after a short fine-tuning, AUROC-verified.",
            amount=Param("float", 0.3, "fraction of each private channel chain's channels removed"),
            epochs=Param("int", 1, "fine-tuning epochs on the training split"),
            lr=Param("float", 1e-4, "fine-tuning learning rate"),
            multiple=Param("int", 8, "kept channel counts rounded to multiples of this (1: exact amount)"),
        ),
    ]
