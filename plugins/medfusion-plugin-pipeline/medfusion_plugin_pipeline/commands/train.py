"""``medfusion train CONFIG``: train the fused model (and/or its unimodal baselines) into a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from medfusion_core.commands._options import modalities_option

if TYPE_CHECKING:
    from medfusion_core.runs import RunPaths


@click.command("train")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--resume", is_flag=True, help="Continue from each variant's checkpoints/last.pt.")
@modalities_option("Which model(s) to train: 'all' = fused + image-only + clinical-only.")
@click.option("--overwrite", is_flag=True, help="Retrain variants that are already trained.")
@click.option("--runs-dir", type=click.Path(path_type=Path, file_okay=False), help="Override runs_dir.")
@click.option(
    "--fold",
    metavar="K|all",
    help="Cross-validation (needs data.folds): train with fold K as validation, or every fold in "
    "turn; each fold is its own run, <name>-fold<K>.",
)
def command(
    config: Path, resume: bool, modalities: str, overwrite: bool, runs_dir: Path | None, fold: str | None
) -> None:
    """Train a model from an experiment config; runs live in <runs_dir>/<name>/.

    Under torchrun (e.g. 'torchrun --nproc_per_node 2 -m medfusion_core train CONFIG') the
    training is distributed (DDP); data.loader.batch_size stays the global batch.
    """
    from medfusion_core.commands._output import file_progress
    from medfusion_core.config import load_config
    from medfusion_plugin_pipeline.folds import fold_configs, summarise_folds
    from medfusion_plugin_pipeline.training import resolve_runs_dir, train_run

    experiment = resolve_runs_dir(load_config(config), runs_dir)
    per_fold = {}
    for chosen in [experiment] if fold is None else fold_configs(experiment, fold):
        with file_progress() as progress:
            paths, summaries = train_run(
                chosen, modalities=modalities, resume=resume, overwrite=overwrite, progress=progress
            )
        _echo_summaries(paths, summaries)
        per_fold[chosen.data.fold] = summaries
    if fold == "all":
        _echo_folds(*summarise_folds(experiment, per_fold))


def _echo_summaries(paths: RunPaths, summaries: dict[str, dict[str, Any]]) -> None:
    """One line per trained variant (epochs, best monitored value, folder), then the run folder."""
    for variant, summary in summaries.items():
        best = summary.get("best_value")
        shown = (
            f"best {summary['monitor']} {best:.4f} at epoch {summary['best_epoch'] + 1}" if best else "done"
        )
        stop = ", stopped early" if summary.get("stopped_early") else ""
        click.echo(f"{variant}: {summary['epochs']} epoch(s), {shown}{stop} -> {paths.variant(variant).root}")
    click.echo(f"run: {paths.root}")


def _echo_folds(path: Path, summary: dict[str, Any]) -> None:
    """Each variant's cross-validated best metric (mean ± sd and every fold), then the file."""
    for variant, entry in summary["variants"].items():
        values = ", ".join("-" if v is None else f"{v:.4f}" for v in entry["folds"].values())
        mean = "-" if entry["mean"] is None else f"{entry['mean']:.4f}"
        spread = "" if entry["std"] is None else f" ± {entry['std']:.4f}"
        click.echo(f"cross-validation {variant}: best {entry['monitor']} {mean}{spread} (folds: {values})")
    click.echo(f"summary: {path}")
