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
    beside the fused model; writes RUN/report/ (report.md, report.html, metrics.json, PNGs).
    RUN is a run folder or a registered model (NAME@alias, NAME/N)."""
    from medfusion_core.tracking import log_to_run, resolve_run
    from medfusion_plugin_evaluation.report import ERRORS_KEY
    from medfusion_plugin_evaluation.run import evaluate_run

    run = resolve_run(run)[0]
    report = evaluate_run(run)
    metrics = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    log_to_run(run, metrics=_test_metrics(metrics["models"]), artifacts=[(report, "report")])
    for name, error in metrics.get(ERRORS_KEY, {}).items():
        click.echo(f"warning: report section {name} failed ({error}); the report names it", err=True)
    auroc = _auroc_line(metrics["models"])
    if auroc:
        click.echo(auroc)
    click.echo(f"report: {report}")
    return report


def _test_metrics(models: dict[str, Any]) -> dict[str, float]:
    """The report's test metrics as tracker keys ``<model>/test_<metric>`` (``fused/test_auroc``)
    and, where the report has them, their CI bounds (``..._ci_low``, ``..._ci_high``, which
    ``runs compare`` shows as ``value [low, high]``)."""
    flat: dict[str, float] = {}
    for label, model in models.items():
        for name, entry in model.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), int | float):
                continue
            flat[f"{label}/test_{name}"] = float(entry["value"])
            for bound in ("low", "high"):
                if isinstance(entry.get(bound), int | float):
                    flat[f"{label}/test_{name}_ci_{bound}"] = float(entry[bound])
    return flat


def _auroc_line(models: dict[str, Any]) -> str:
    """``test AUROC: fused 0.87, image-only 0.74, clinical-only 0.79`` from the report's metrics
    (empty when no model has an AUROC: multiclass and regression tasks)."""
    parts = [f"{label} {model['auroc']['value']:.3f}" for label, model in models.items() if "auroc" in model]
    return "test AUROC: " + ", ".join(parts) if parts else ""
