"""``medfusion evaluate RUN``: score every trained variant and write the report."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("evaluate")
@click.argument("run", type=click.Path(path_type=Path, file_okay=False))
def command(run: Path) -> Path:
    """Evaluate a run: threshold chosen on validation, metrics with CIs on test, unimodal baselines
    beside the fused model; writes RUN/report/ (report.md, report.html, metrics.json, PNGs)."""
    from medfusion_plugin_evaluation.run import evaluate_run

    report = evaluate_run(run)
    auroc = _auroc_line(report.parent / "metrics.json")
    if auroc:
        click.echo(auroc)
    click.echo(f"report: {report}")
    return report


def _auroc_line(metrics_file: Path) -> str:
    """``test AUROC: fused 0.87, image-only 0.74, clinical-only 0.79`` from the report's metrics
    (empty when no model has an AUROC: multiclass and regression tasks)."""
    models = json.loads(metrics_file.read_text(encoding="utf-8"))["models"]
    parts = [f"{label} {model['auroc']['value']:.3f}" for label, model in models.items() if "auroc" in model]
    return "test AUROC: " + ", ".join(parts) if parts else ""
