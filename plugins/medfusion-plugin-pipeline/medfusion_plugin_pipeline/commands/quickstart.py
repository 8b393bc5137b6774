"""``medfusion quickstart [DIR]``: demo data -> fused model + both baselines -> evaluation report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("quickstart")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default="medfusion-quickstart")
@click.option("--patients", default=500, show_default=True, help="Number of synthetic patients.")
@click.option("--force", is_flag=True, help="Replace DIRECTORY even when it is not empty.")
def command(directory: Path, patients: int, force: bool) -> None:
    """Write the demo dataset into DIR, train the fused model and the image-only and clinical-only
    baselines, evaluate them and print where the report is (a few minutes on 2 CPU cores)."""
    from medfusion_core.config import load_config
    from medfusion_plugin_pipeline.demo import write_demo
    from medfusion_plugin_pipeline.training import resolve_runs_dir, train_run

    folder = write_demo(directory, patients=patients, force=force)
    click.echo(f"demo data: {folder}")
    config = resolve_runs_dir(load_config(folder / "config.yaml"), folder / "runs")
    paths, _ = train_run(config, modalities="all")
    _evaluate(paths.root)


def _evaluate(run: Path) -> None:
    """Run the ``evaluate`` command the registry finds (whichever plugin provides it) on ``run``;
    it prints the test AUROCs and where the report is."""
    from medfusion_core.errors import MedFusionError
    from medfusion_core.registry import get_registry

    try:
        evaluate = get_registry().load("command", "evaluate")
    except MedFusionError as exc:
        raise MedFusionError(f"quickstart needs the 'evaluate' command ({exc})") from None
    evaluate.main(args=[str(run)], standalone_mode=False)
