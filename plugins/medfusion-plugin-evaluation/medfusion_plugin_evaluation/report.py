"""Write the evaluation report of a run: metrics.json, report.md, report.html, report.pdf and PNG
plots.

Typical use by the trainer / ``medfusion evaluate``::

    from medfusion_plugin_evaluation.api import ModelPredictions, SplitPredictions, write_report
    from medfusion_plugin_evaluation.api import report_options

    models = {
        "fused": ModelPredictions(test=SplitPredictions(y_test, p_test, {"sex": sex_test}),
                                  validation=SplitPredictions(y_val, p_val)),
        "image-only": ..., "clinical-only": ...,
    }
    write_report(run.report, models, **report_options(config), training_history=histories)

The sections are the ``report`` components of the registry (:mod:`medfusion_core.kinds.report`):
this plugin's own (:mod:`.sections`) and any other plugin's. Every file is written atomically. The
fused model (``reference``) is compared with every other
model on the task's headline metric (binary: AUROC; multiclass: macro one-vs-rest AUROC;
regression: MAE) with a paired bootstrap difference.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.kinds.report import SECTIONS_KEY
from medfusion_core.runs import atomic_write, write_text
from medfusion_plugin_evaluation.bootstrap import LEVEL
from medfusion_plugin_evaluation.compare import compare_to_baselines
from medfusion_plugin_evaluation.context import EvaluationContext
from medfusion_plugin_evaluation.decision import DEFAULT_RANGE
from medfusion_plugin_evaluation.evaluate import Evaluation, evaluate_model
from medfusion_plugin_evaluation.parts import render_parts, report_specs
from medfusion_plugin_evaluation.pdf import to_pdf
from medfusion_plugin_evaluation.prediction_table import write_predictions
from medfusion_plugin_evaluation.predictions import EvaluationError, ModelPredictions
from medfusion_plugin_evaluation.render import Document, to_html, to_markdown

if TYPE_CHECKING:
    from medfusion_core.config import ExperimentConfig

METRICS_FILE = "metrics.json"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
PDF_FILE = "report.pdf"
#: Key of metrics.json naming each report part that failed, with its one-line error.
ERRORS_KEY = "section_errors"


@attrs.frozen
class ReportFiles:
    """What :func:`write_report` wrote, and the metrics it wrote to ``metrics.json``
    (``predictions``: predictions.csv, ``None`` when the predictions have no patient ids)."""

    out_dir: Path
    metrics_json: Path
    markdown: Path
    html: Path
    pdf: Path
    plots: dict[str, Path]
    metrics: dict[str, Any]
    predictions: Path | None = None


def report_options(config: ExperimentConfig) -> dict[str, Any]:
    """The keyword arguments of :func:`write_report` taken from an experiment config."""
    return {
        "task": config.task.type,
        "threshold_rule": config.evaluation.threshold,
        "target_sensitivity": config.evaluation.target_sensitivity,
        "n_resamples": config.evaluation.bootstrap,
        "decision_range": tuple(config.evaluation.decision_range),
        "seed": config.seed,
        "subgroups": list(config.data.subgroups),
        "class_names": config.task.classes,
        "title": f"MedFusion evaluation: {config.name}",
    }


def write_report(
    out_dir: str | Path,
    models: Mapping[str, ModelPredictions],
    *,
    task: str,
    threshold_rule: str = "youden",
    target_sensitivity: float = 0.9,
    n_resamples: int = 2000,
    seed: int = 0,
    subgroups: Sequence[str] = (),
    class_names: Sequence[str] | None = None,
    training_history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    title: str = "MedFusion evaluation",
    reference: str = "fused",
    run_dir: Path | None = None,
    config: ExperimentConfig | None = None,
    decision_range: tuple[float, float] = DEFAULT_RANGE,
) -> ReportFiles:
    """Evaluate every model and write ``metrics.json``, ``report.md``, ``report.html``,
    ``report.pdf`` (the same sections with their figures), PNGs and
    ``predictions.csv`` (every model's per-patient scores, see :mod:`.prediction_table`).

    ``models`` maps a label ("fused", "image-only", "clinical-only") to its predictions;
    ``training_history`` maps a label to its per-epoch records (the ``metrics.jsonl`` lines of a
    variant; see :func:`.plots.training_series`). ``reference`` is the model compared with the
    others; ``run_dir`` and ``config`` (when the report is of a run) are handed to the report
    parts. The report's sections are the ``report`` components, in order (see :mod:`.parts`).
    Returns the paths written and the metrics.
    """
    if not models:
        raise EvaluationError(
            "write_report: no model predictions given; pass e.g. {'fused': ModelPredictions(...)}"
        )
    out = Path(out_dir)
    ordered = dict(sorted(models.items(), key=lambda item: item[0] != reference))
    evaluations: dict[str, Evaluation] = {
        label: evaluate_model(
            predictions,
            task=task,
            threshold_rule=threshold_rule,
            target_sensitivity=target_sensitivity,
            n_resamples=n_resamples,
            seed=seed,
            subgroups=subgroups,
            class_names=class_names,
            label=label,
            decision_range=decision_range,
        )
        for label, predictions in ordered.items()
    }
    tests = {label: predictions.test.check(task, label) for label, predictions in ordered.items()}
    comparisons = compare_to_baselines(evaluations, tests, reference)
    settings = {
        "threshold_rule": threshold_rule,
        "target_sensitivity": target_sensitivity,
        "n_resamples": n_resamples,
        "seed": seed,
        "ci_level": LEVEL,
        "subgroups": list(subgroups),
        "decision_range": list(decision_range),
    }
    metrics = {
        "title": title,
        "task": task,
        "reference": reference,
        "settings": settings,
        "models": {label: evaluation.to_dict() for label, evaluation in evaluations.items()},
        "comparisons": [comparison.to_dict() for comparison in comparisons],
    }
    context = EvaluationContext(
        title=title,
        task=task,
        reference=reference,
        class_names=None if class_names is None else list(class_names),
        predictions={
            label: attrs.evolve(predictions, test=tests[label]) for label, predictions in ordered.items()
        },
        metrics=copy.deepcopy(metrics),
        history=training_history or {},
        out_dir=out,
        run_dir=run_dir,
        config=config,
        evaluations=evaluations,
        comparisons=comparisons,
    )
    rendered = render_parts(context, report_specs())
    metrics["plots"] = rendered.figures
    if rendered.metrics:
        metrics[SECTIONS_KEY] = rendered.metrics
    if rendered.errors:
        metrics[ERRORS_KEY] = rendered.errors
    document = Document(title, rendered.sections)
    table = write_predictions(out, context.predictions, task, class_names)
    return ReportFiles(
        out_dir=out,
        metrics_json=write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, allow_nan=False) + "\n"),
        markdown=write_text(out / MARKDOWN_FILE, to_markdown(document)),
        html=write_text(out / HTML_FILE, to_html(document)),
        pdf=atomic_write(out / PDF_FILE, lambda handle: handle.write(to_pdf(document, out))),
        plots={name: out / file for name, file in rendered.figures.items()},
        metrics=metrics,
        predictions=table,
    )
