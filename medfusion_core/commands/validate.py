"""``medfusion validate CONFIG [--data]``: refuse what ``medfusion train`` would refuse, without
training: the config (schema, components, parameters and their ranges), the manifest (the columns
the config names, label values, splits) and, with ``--data``, every file of every split."""

from __future__ import annotations

from pathlib import Path

import click

from medfusion_core.commands._options import VARIANTS, modalities_option
from medfusion_core.errors import ConfigError


@click.command("validate")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--data",
    "check_data",
    is_flag=True,
    help="Also decode every image and mask of every split (truncated, undecodable, wrong channel "
    "count, 3D volume in a 2D config, unreadable DICOM transfer syntax); all problems are listed.",
)
@modalities_option("The variants whose models are built, as 'medfusion train --modalities'.")
def command(config: Path, check_data: bool, modalities: str) -> None:
    """Check an experiment config without running it: fields, value ranges, components, the
    manifest's columns, labels and splits, and with --data every file (as 'train' does first)."""
    from medfusion_core.commands._output import file_progress
    from medfusion_core.config import load_config
    from medfusion_core.preflight import prepare_training

    experiment = load_config(config)
    manifest = Path(experiment.data.manifest)
    if not manifest.is_file():
        raise ConfigError(f"{config}: data.manifest: file not found: {manifest}")
    with file_progress() as progress:
        prepared = prepare_training(
            experiment, VARIANTS[modalities], check_data=check_data, progress=progress
        )
    for note in prepared.notes:
        click.echo(note, err=True)
    model = experiment.model
    parts = {
        "fused": f"{model.backbone.name} + {model.aggregator.name} + {model.fusion.name}",
        "image": f"{model.backbone.name} + {model.aggregator.name} (image only)",
        "clinical": "tabular MLP (clinical only)",
    }
    data = prepared.data
    counts = ", ".join(f"{split} {len(data.indices(split))}" for split in ("train", "val", "test"))
    files = "every file decoded" if check_data else "files not decoded (add --data)"
    click.echo(
        f"ok: {config} is valid — {experiment.task.type} task, model {parts[model.modalities]}, "
        f"trainer {experiment.trainer.name}; {len(data.manifest)} patients ({counts}); {files}"
    )
