"""``medfusion evaluate RUN``: score every trained variant and write the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("evaluate")
@click.argument("run", type=click.Path(path_type=Path, file_okay=False))
def command(run: Path) -> Path:
    """Evaluate a run: threshold chosen on validation, metrics with CIs on test, unimodal baselines
    beside the fused model; writes RUN/report/ (report.md, report.html, metrics.json, PNGs)."""
    from medfusion_plugin_evaluation.report import ERRORS_KEY
    from medfusion_plugin_evaluation.run import evaluate_run

    report = evaluate_run(run)
    metrics = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    for name, error in metrics.get(ERRORS_KEY, {}).items():
        click.echo(f"warning: report section {name} failed ({error}); the report names it", err=True)
    auroc = _auroc_line(metrics["models"])
    if auroc:
        click.echo(auroc)
    click.echo(f"report: {report}")
    return report


def _auroc_line(models: dict[str, Any]) -> str:
    """``test AUROC: fused 0.87, image-only 0.74, clinical-only 0.79`` from the report's metrics
    (empty when no model has an AUROC: multiclass and regression tasks)."""
    parts = [f"{label} {model['auroc']['value']:.3f}" for label, model in models.items() if "auroc" in model]
    return "test AUROC: " + ", ".join(parts) if parts else ""
