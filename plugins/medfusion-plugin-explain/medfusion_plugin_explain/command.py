"""``medfusion explain RUN --patients ID... --out DIR``."""

from __future__ import annotations

from pathlib import Path

import click


def _ids(values: tuple[str, ...]) -> list[str]:
    """Patient ids from repeated and comma-separated ``--patients`` values."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.command("explain")
@click.argument("run")
@click.option(
    "--patients", "patients", multiple=True, required=True, help="Patient ids (repeat or comma-separate)."
)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Output folder.")
@click.option("--variant", type=click.Choice(["fused", "image"]), default=None, help="Only this variant.")
@click.option(
    "--method", "methods", multiple=True, type=click.Choice(["gradcam", "gradcampp"]), help="Map method(s)."
)
@click.option(
    "--steps", type=click.IntRange(min=1), default=64, show_default=True, help="Integrated-gradients steps."
)
@click.option(
    "--repeats", type=click.IntRange(min=1), default=5, show_default=True, help="Permutation repeats."
)
@click.option(
    "--target-class", type=click.IntRange(min=0), default=None, help="Class explained (multiclass)."
)
def command(
    run: str,
    patients: tuple[str, ...],
    out: Path,
    variant: str | None,
    methods: tuple[str, ...],
    steps: int,
    repeats: int,
    target_class: int | None,
) -> Path:
    """Explain patients of a run: Grad-CAM / Grad-CAM++ (and attention maps where the model has
    them) over every view as PNGs, integrated gradients of the clinical values from the
    all-missing baseline, the randomised-weights check, permutation importance on validation and
    lesion-mask scores on test (pointing game and IoU per variant and map, also printed), in
    DIR/explanations.json. RUN is a run folder or a registered
    model (NAME@alias, NAME/N)."""
    from medfusion_core.runs.io import read_json
    from medfusion_core.tracking import resolve_run
    from medfusion_plugin_explain.cam import METHODS
    from medfusion_plugin_explain.evidence import mask_lines
    from medfusion_plugin_explain.explain import ExplainOptions, explain_run

    folder, resolved = resolve_run(run)
    options = ExplainOptions(
        methods=tuple(methods) or METHODS, steps=steps, repeats=repeats, target_class=target_class
    )
    path = explain_run(folder, _ids(patients), out, variant=variant or resolved, options=options)
    written = read_json(path)
    lines = mask_lines({name: v["mask_scores"] for name, v in written["variants"].items()})
    if lines:
        click.echo(f"lesion masks, test split (attention supervision: {written['attention_supervision']}):")
        click.echo("\n".join(f"  {line}" for line in lines))
    click.echo(f"explanations: {path}")
    return path
