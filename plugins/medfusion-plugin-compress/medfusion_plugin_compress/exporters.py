"""The compressing exporters: the run's fp32 ONNX export as the reference, a compressed model
from it, the AUROC check, then the artifact with its metadata (embedded and in the sidecar).

An artifact outside the AUROC tolerance is refused: nothing is written, one line says why.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medfusion_core.errors import ExportError
from medfusion_core.runs.io import atomic_write

if TYPE_CHECKING:
    from medfusion_plugin_export.run_loading import RunVariant

#: Default largest tolerated |AUROC change| against fp32 on the test split.
TOLERANCE = 0.02


class CompressingExporter:
    """Base of the compressed formats (the factory ``(**params)`` of an exporter spec).

    Args:
        variant: ``fused`` (default), ``image`` or ``clinical``.
        tolerance: largest tolerated absolute AUROC change against fp32 on the test split.
        held_out: test patients the fp32 reference export is compared with eager PyTorch on.
        verbose: print the figures.
        echo: where lines are printed (default ``print``).
    """

    format = ""
    tag = ""

    def __init__(
        self,
        *,
        variant: str = "fused",
        tolerance: float = TOLERANCE,
        held_out: int = 8,
        verbose: bool = False,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.variant = variant
        self.tolerance = tolerance
        self.held_out = held_out
        self.verbose = verbose
        self.echo = echo

    def export(self, run_dir: str | Path, out_path: str | Path | None = None) -> Path:
        """Compress the run's model to ``out_path`` (default ``<run>/export/<variant>.<tag>.onnx``)
        after verifying it; writes ``<artifact>.json`` too and returns the artifact path."""
        from medfusion_plugin_export.run_loading import load_run

        from medfusion_plugin_compress.verification import compare

        run = load_run(run_dir, self.variant)
        if run.preprocessing["task"] not in ("binary", "multiclass"):
            raise ExportError(
                f"{self.format}: verified by AUROC; a {run.preprocessing['task']} task has none"
            )
        out = Path(out_path) if out_path else run.root / "export" / f"{self.variant}.{self.tag}.onnx"
        with tempfile.TemporaryDirectory(prefix="medfusion-compress-") as tmp:
            folder = Path(tmp)
            reference = self.reference(run, folder / "fp32.onnx")
            candidate = folder / "compressed.onnx"
            method = self.compress(run, reference.artifact, candidate, folder)
            comparison = compare(run, self.format, method, reference.artifact, candidate, self.tolerance)
            if self.verbose:
                for line in comparison.lines():
                    self.echo(line)
            if not comparison.within:
                raise ExportError(comparison.refusal())
            metadata = {**reference.metadata, "format": self.format, "compression": comparison.to_json()}
            self._write(candidate, out, metadata)
        if self.verbose:
            self.echo(f"wrote {out} and {out.name}.json")
        return out

    def reference(self, run: RunVariant, path: Path) -> Any:
        """The verified fp32 ONNX export of ``run`` at ``path`` (an ``ExportResult``)."""
        from medfusion_plugin_export.exporters import OnnxExporter

        return OnnxExporter(variant=self.variant, held_out=self.held_out).export_loaded(run, path)

    def compress(self, run: RunVariant, reference: Path, target: Path, folder: Path) -> str:
        """Write the compressed model to ``target`` (``folder`` holds scratch files); the method."""
        raise NotImplementedError

    @staticmethod
    def _write(candidate: Path, out: Path, metadata: dict[str, Any]) -> None:
        """The artifact with the metadata in its ``metadata_props``, and the sidecar, atomically."""
        import onnx
        from medfusion_plugin_export.backends.onnx import metadata_props
        from medfusion_plugin_export.metadata import sidecar_path, write_sidecar

        proto = onnx.load(str(candidate))
        del proto.metadata_props[:]
        for key, value in metadata_props(metadata).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        atomic_write(out, lambda handle: handle.write(proto.SerializeToString()))
        write_sidecar(sidecar_path(out), metadata)


class Int8Exporter(CompressingExporter):
    """INT8 ONNX: static quantization calibrated on training-split patients (dynamic as fallback).

    Args:
        calibration: training-split patients the activation ranges are calibrated on (0: dynamic).
    """

    format = "onnx-int8"
    tag = "int8"

    def __init__(self, *, calibration: int = 64, **options: Any) -> None:
        super().__init__(**options)
        self.calibration = calibration

    def compress(self, run: RunVariant, reference: Path, target: Path, folder: Path) -> str:
        """Static (or, failing that, dynamic) INT8 quantization of the fp32 ONNX."""
        from medfusion_plugin_compress.quantize import quantize_int8
        from medfusion_plugin_compress.scoring import split_feeds

        feeds = (
            [feeds for feeds, _ in split_feeds(run, "train", limit=self.calibration)]
            if self.calibration
            else []
        )
        return quantize_int8(reference, target, feeds, folder)


class Fp16Exporter(CompressingExporter):
    """FP16 ONNX for GPU execution providers (verified with ONNX Runtime on CPU)."""

    format = "onnx-fp16"
    tag = "fp16"

    def compress(self, run: RunVariant, reference: Path, target: Path, folder: Path) -> str:
        """Half-precision conversion of the fp32 ONNX."""
        from medfusion_plugin_compress.fp16 import convert_fp16

        return convert_fp16(reference, target)


class PrunedExporter(CompressingExporter):
    """Channel-pruned fp32 ONNX: ``amount`` of the channels of every private channel chain (see
    :mod:`medfusion_plugin_compress.pruning`) removed by lowest L1 filter norm, then fine-tuned on the
    training split; the exported graph is smaller and cheaper than fp32.

    Args:
        amount: fraction of each chain's channels removed.
        epochs: fine-tuning epochs on the training split.
        lr: fine-tuning learning rate (AdamW).
        multiple: kept widths rounded to multiples of this (aligned widths run faster; 1: exact).
    """

    format = "pruned"
    tag = "pruned"

    def __init__(
        self, *, amount: float = 0.3, epochs: int = 1, lr: float = 1e-4, multiple: int = 8, **options: Any
    ) -> None:
        super().__init__(**options)
        self.amount, self.epochs, self.lr, self.multiple = amount, epochs, lr, multiple

    def compress(self, run: RunVariant, reference: Path, target: Path, folder: Path) -> str:
        """Remove channels from a copy of the model, fine-tune it, export it to ONNX."""
        import attrs

        from medfusion_plugin_compress.pruning import fine_tune, prune_channels

        model, result = prune_channels(run.model, self.amount, self.multiple)
        fine_tune(model, run, epochs=self.epochs, lr=self.lr)
        self.reference(attrs.evolve(run, model=model), target)
        return (
            f"structured L1 pruning: {result.removed} of {result.total} channels removed from "
            f"{result.chains} layer chains ({self.amount:.0%} per chain, widths kept at multiples of "
            f"{self.multiple}), parameters "
            f"{result.parameters_before:,} -> {result.parameters_after:,}; fine-tuned {self.epochs} "
            f"epoch(s) at lr {self.lr:g}"
        )
