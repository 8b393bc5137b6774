"""``medfusion demo-data DIR``: write the synthetic multimodal demo dataset and its config."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo-data")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--patients", default=500, show_default=True, help="Number of synthetic patients.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--force", is_flag=True, help="Replace DIRECTORY even when it is not empty.")
def command(directory: Path, patients: int, seed: int, force: bool) -> None:
    """Write a synthetic dataset (images, lesion masks, clinical CSV, label) and DIR/config.yaml."""
    from medfusion_plugin_pipeline.demo import write_demo

    folder = write_demo(directory, patients=patients, seed=seed, force=force)
    click.echo(f"wrote {patients} patients to {folder}; train with: medfusion train {folder / 'config.yaml'}")
