"""``medfusion predict RUN MANIFEST`` or ``medfusion predict --model ARTIFACT.onnx MANIFEST``:
score a new manifest with a trained run, or with an exported ONNX model through ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import click

from medfusion_core.commands._options import out_and_variant_options
from medfusion_core.errors import MedFusionError


def _predict_with_artifact(model: Path, manifest: Path, out: Path) -> Path:
    """Score ``manifest`` with an exported artifact, through the predictor of the installed
    exporter whose ``suffixes`` match the artifact's name."""
    import attrs

    from medfusion_core.registry import get_registry

    try:
        spec = get_registry().artifact_exporter(model)
    except MedFusionError as exc:
        raise MedFusionError(f"--model {exc}") from None
    attrs.evolve(spec, factory=spec.info.predictor).load()(model, manifest, out)
    return out


@click.command("predict")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[RUN|NAME@ALIAS] MANIFEST")
@click.option(
    "--model",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Score with an exported ONNX artifact (from 'medfusion export') instead of a run.",
)
@out_and_variant_options(
    out_help="CSV to write.",
    variant_help="Which trained model of the run scores.",
    out_default=Path("predictions.csv"),
)
def command(paths: tuple[Path, ...], model: Path | None, out: Path, variant: str) -> None:
    """Score MANIFEST (the image and clinical columns used in training; label, lesion-mask and
    subgroup columns are optional) with a run's fitted
    preprocessing and its threshold chosen on validation (after 'medfusion evaluate'), or with
    an exported model given by --model. RUN may be a registered model (NAME@alias, NAME/N),
    which scores with its registered variant."""
    expected = 1 if model is not None else 2
    if len(paths) != expected:
        usage = "--model ARTIFACT.onnx MANIFEST" if model is not None else "RUN MANIFEST"
        raise click.UsageError(f"expected {usage}, got {len(paths)} path(s)")
    if model is not None:
        written = _predict_with_artifact(model, paths[0], out)
    else:
        from medfusion_core.tracking import log_to_run, resolve_run
        from medfusion_plugin_pipeline.prediction import predict_manifest

        run, registered = resolve_run(paths[0])
        written = predict_manifest(run, paths[1], out, variant=registered or variant)
        log_to_run(run, artifacts=[(written, "predictions")])
    click.echo(f"predictions: {written}")
