"""``medfusion evaluate RUN``: score every trained variant and write the report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("evaluate")
@click.argument("run", type=click.Path(path_type=Path, file_okay=False))
def command(run: Path) -> None:
    """Evaluate a run: threshold chosen on validation, metrics with CIs on test, unimodal baselines
    beside the fused model; writes RUN/report/ (report.md, report.html, metrics.json, PNGs)."""
    from medfusion_core.workflow import evaluate_run

    report = evaluate_run(run)
    click.echo(f"report: {report}")
