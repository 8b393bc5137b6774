"""``medfusion train CONFIG``: train the fused model (and/or its unimodal baselines) into a run."""

from __future__ import annotations

from pathlib import Path

import click

from medfusion_core.workflow import MODALITY_CHOICES


@click.command("train")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--resume", is_flag=True, help="Continue from each variant's checkpoints/last.pt.")
@click.option(
    "--modalities",
    type=click.Choice(list(MODALITY_CHOICES)),
    default="fused",
    show_default=True,
    help="Which model(s) to train: 'all' = fused + image-only + clinical-only.",
)
@click.option("--overwrite", is_flag=True, help="Retrain variants that are already trained.")
@click.option("--runs-dir", type=click.Path(path_type=Path, file_okay=False), help="Override runs_dir.")
def command(config: Path, resume: bool, modalities: str, overwrite: bool, runs_dir: Path | None) -> None:
    """Train a model from an experiment config; runs live in <runs_dir>/<name>/.

    Under torchrun (e.g. 'torchrun --nproc_per_node 2 -m medfusion_core train CONFIG') the
    training is distributed (DDP); data.loader.batch_size stays the global batch.
    """
    from medfusion_core.config import load_config
    from medfusion_core.workflow import resolve_runs_dir, train_run

    experiment = resolve_runs_dir(load_config(config), runs_dir)
    paths, summaries = train_run(experiment, modalities=modalities, resume=resume, overwrite=overwrite)
    for variant, summary in summaries.items():
        best = summary.get("best_value")
        shown = (
            f"best {summary['monitor']} {best:.4f} at epoch {summary['best_epoch'] + 1}" if best else "done"
        )
        stop = ", stopped early" if summary.get("stopped_early") else ""
        click.echo(f"{variant}: {summary['epochs']} epoch(s), {shown}{stop} -> {paths.variant(variant).root}")
    click.echo(f"run: {paths.root}")
