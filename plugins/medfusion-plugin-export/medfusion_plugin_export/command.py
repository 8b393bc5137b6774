"""``medfusion export RUN --format onnx|pt2|torchscript``: write a verified deployment artifact."""

from __future__ import annotations

from pathlib import Path

import click

from medfusion_core.commands._options import out_and_variant_options
from medfusion_plugin_export.params import exporter_params

FORMAT_HELP = (
    "Artifact format: onnx (ONNX Runtime, default), pt2 (torch.export program) or torchscript "
    "(deprecated upstream by PyTorch; only for deployments that still run TorchScript); other "
    "installed exporters add formats ('medfusion list-plugins --kind exporter')."
)


@click.command("export")
@click.argument("run", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--format", "fmt", default="onnx", show_default=True, metavar="onnx|pt2|torchscript", help=FORMAT_HELP
)
@out_and_variant_options(
    out_help="Artifact path (default: RUN/export/<variant>.<suffix>).",
    variant_help="Which trained model of the run to export.",
)
@click.option(
    "--held-out",
    type=click.IntRange(min=0),
    default=8,
    show_default=True,
    help="Test-split patients compared with eager PyTorch during verification.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of the format's exporter (JSON value), e.g. tolerance=0.01 for onnx-int8; "
    "see 'medfusion info FORMAT'.",
)
def command(
    run: Path, fmt: str, out: Path | None, variant: str, held_out: int, params: tuple[str, ...]
) -> None:
    """Export a trained run's model with its preprocessing metadata and verify it.

    Writes the artifact and a sidecar JSON (<artifact>.json) holding the tabular preprocessing,
    image normalisation, classes, task, validation threshold, model card and the verification
    figures (max abs difference vs eager PyTorch, number of samples). RUN is a run folder or a
    registered model (NAME@alias, NAME/N; its registered variant is exported).
    """
    from medfusion_core.errors import ExportError, MedFusionError
    from medfusion_core.registry import get_registry
    from medfusion_core.tracking import log_to_run, resolve_run

    run, registered = resolve_run(run)
    variant = registered or variant

    try:
        spec = get_registry().exporter(fmt)
    except MedFusionError as exc:
        raise ExportError(f"--format {fmt}: {exc}") from None
    options = exporter_params(spec, params)
    exporter = spec.load()(variant=variant, held_out=held_out, verbose=True, echo=click.echo, **options)
    artifact = exporter.export(run, out)
    log_to_run(run, artifacts=[(artifact, "export"), (artifact.with_name(artifact.name + ".json"), "export")])
