"""The exporter components: load a run, export one model variant, verify it, write the sidecar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medfusion_plugin_export.api import ExportResult, export_model
from medfusion_plugin_export.backends import get_backend
from medfusion_plugin_export.metadata import build_metadata
from medfusion_plugin_export.signature import InputSpec

if TYPE_CHECKING:
    from medfusion_plugin_export.run_loading import RunVariant


def _backbone_inputs(
    args: tuple[Any, ...], _kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The image encoder's ``(images [B, V, ...], view_mask)`` -> the backbone's ``[B * V, ...]``."""
    return (args[0].flatten(0, 1),), {}


#: Backbones are called through ``forward_features``; their inputs come from the image encoder's.
DERIVED_INPUTS = {"image_encoder.backbone": ("image_encoder", _backbone_inputs)}


class RunExporter:
    """Exports a run's model variant in one format (the factory ``(**params)`` of an exporter spec).

    Args:
        variant: ``fused`` (default), ``image`` or ``clinical``.
        held_out: number of test-split patients compared with eager PyTorch (plus random batches
            of 1 and 5 that check the dynamic batch dimension).
        verbose: print the verification figures.
        echo: where lines are printed (default ``print``).
    """

    format = ""

    def __init__(
        self,
        *,
        variant: str = "fused",
        held_out: int = 8,
        verbose: bool = False,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.variant = variant
        self.held_out = held_out
        self.verbose = verbose
        self.echo = echo

    @property
    def suffix(self) -> str:
        """The artifact's file suffix (``.onnx``, ``.pt2``, ``.ts``)."""
        return get_backend(self.format).suffix

    def export(self, run_dir: str | Path, out_path: str | Path | None = None) -> Path:
        """Export the run in ``run_dir`` to ``out_path`` (default ``<run>/export/<variant>.<suffix>``),
        verify it and write ``<artifact>.json``; returns the artifact path."""
        return self.export_run(run_dir, out_path).artifact

    def export_run(self, run_dir: str | Path, out_path: str | Path | None = None) -> ExportResult:
        """Like :meth:`export`, returning the whole :class:`ExportResult`."""
        from medfusion_plugin_export.run_loading import load_run

        run = load_run(run_dir, self.variant)
        out = Path(out_path) if out_path is not None else run.root / "export" / f"{self.variant}{self.suffix}"
        result = self.export_loaded(run, out)
        if self.verbose:
            self.echo(f"wrote {result.artifact} and {result.sidecar.name}")
            self.echo(result.verification.summary())
        return result

    def export_loaded(self, run: RunVariant, out_path: Path) -> ExportResult:
        """Export an already loaded run; the views and classes are those the run recorded in its
        ``preprocessing.json`` at training time."""
        image = run.config.data.image
        spec = InputSpec(
            views=run.preprocessing["image"]["max_views"],
            channels=image.channels,
            size=tuple(image.size),
            clinical_features=run.data.clinical_features,
        )
        metadata = build_metadata(
            run.config,
            fmt=self.format,
            variant=run.variant,
            num_outputs=run.data.num_outputs,
            preprocessing=run.preprocessing,
            threshold=run.threshold,
            classes=run.preprocessing["classes"],
        )
        held_out = run.held_out_batch(self.held_out)
        return export_model(
            run.model,
            out_path,
            fmt=self.format,
            metadata=metadata,
            input_spec=spec,
            held_out=[held_out] if held_out is not None else [],
            component_labels=run.component_labels(),
            derived_inputs=DERIVED_INPUTS,
            seed=run.config.seed,
        )


class OnnxExporter(RunExporter):
    """ONNX via ``torch.onnx.export(dynamo=True)``, verified with ONNX Runtime."""

    format = "onnx"


class Pt2Exporter(RunExporter):
    """``torch.export`` program saved as ``.pt2``, verified with the loaded program."""

    format = "pt2"


class TorchScriptExporter(RunExporter):
    """TorchScript (traced), verified with the loaded script module. Deprecated upstream: prefer
    ``pt2`` or ``onnx``; kept for deployments that still run TorchScript."""

    format = "torchscript"
