"""``medfusion validate CONFIG``: check a config (schema, component names and parameters)."""

from __future__ import annotations

from pathlib import Path

import click

from medfusion_core.errors import ConfigError


@click.command("validate")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
def command(config: Path) -> None:
    """Check an experiment config without running it: fields, types, components, manifest."""
    from medfusion_core.config import load_config

    experiment = load_config(config)
    manifest = Path(experiment.data.manifest)
    if not manifest.is_file():
        raise ConfigError(f"{config}: data.manifest: file not found: {manifest}")
    model = experiment.model
    parts = {
        "fused": f"{model.backbone.name} + {model.aggregator.name} + {model.fusion.name}",
        "image": f"{model.backbone.name} + {model.aggregator.name} (image only)",
        "clinical": "tabular MLP (clinical only)",
    }
    click.echo(
        f"ok: {config} is valid — {experiment.task.type} task, model {parts[model.modalities]}, "
        f"trainer {experiment.trainer.name}"
    )
