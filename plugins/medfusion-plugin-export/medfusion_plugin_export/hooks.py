"""Registers the exporters and the ``export`` command (import strings only: nothing heavy is
imported here)."""

from __future__ import annotations

from medfusion_core import ComponentSpec, Param, hookimpl
from medfusion_core.kinds.exporter import ExporterInfo

_PARAMS = {
    "verbose": Param("bool", False, "print the verification figures"),
    "variant": Param("str", "fused", "model variant of the run to export", ("fused", "image", "clinical")),
    "held_out": Param("int", 8, "test-split samples compared with eager PyTorch"),
}


@hookimpl
def medfusion_register_commands() -> list[ComponentSpec]:
    """``medfusion export``."""
    return [
        ComponentSpec(
            "export",
            "command",
            "medfusion_plugin_export.command:command",
            "Export a trained run to ONNX, .pt2 or TorchScript and verify it.",
        )
    ]


@hookimpl
def medfusion_register_exporters() -> list[ComponentSpec]:
    """ONNX (dynamo exporter), torch.export .pt2 and TorchScript (deprecated upstream)."""
    return [
        ComponentSpec(
            "onnx",
            "exporter",
            "medfusion_plugin_export.exporters:OnnxExporter",
            "ONNX via the dynamo exporter, dynamic batch, verified with ONNX Runtime.",
            _PARAMS,
            info=ExporterInfo(
                formats=["onnx"],
                suffixes=[".onnx"],
                predictor="medfusion_plugin_export.predict:predict_with_artifact",
            ),
        ),
        ComponentSpec(
            "pt2",
            "exporter",
            "medfusion_plugin_export.exporters:Pt2Exporter",
            "torch.export program (.pt2), dynamic batch, verified against eager PyTorch.",
            _PARAMS,
            info=ExporterInfo(formats=["pt2"], suffixes=[".pt2"]),
        ),
        ComponentSpec(
            "torchscript",
            "exporter",
            "medfusion_plugin_export.exporters:TorchScriptExporter",
            "TorchScript (.ts) for older deployments; deprecated upstream, prefer pt2 or onnx.",
            _PARAMS,
            info=ExporterInfo(formats=["torchscript"], suffixes=[".ts"], deprecated=True),
        ),
    ]
