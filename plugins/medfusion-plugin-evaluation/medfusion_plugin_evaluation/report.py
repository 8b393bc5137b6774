"""Write the evaluation report of a run: metrics.json, report.md, report.html and PNG plots.

Typical use by the trainer / ``medfusion evaluate``::

    from medfusion_core.evaluation import ModelPredictions, SplitPredictions, report_options, write_report

    models = {
        "fused": ModelPredictions(test=SplitPredictions(y_test, p_test, {"sex": sex_test}),
                                  validation=SplitPredictions(y_val, p_val)),
        "image-only": ..., "clinical-only": ...,
    }
    write_report(run.report, models, **report_options(config), training_history=histories)

Every file is written atomically. The fused model (``reference``) is compared with every other
model on the task's headline metric (binary: AUROC; multiclass: macro one-vs-rest AUROC;
regression: MAE) with a paired bootstrap difference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from medfusion_core.evaluation.bootstrap import LEVEL
from medfusion_core.evaluation.compare import Comparison, compare_to_baselines
from medfusion_core.evaluation.evaluate import Evaluation, evaluate_model
from medfusion_core.evaluation.multiclass import MulticlassEvaluation
from medfusion_core.evaluation.predictions import EvaluationError, ModelPredictions, SplitPredictions
from medfusion_core.evaluation.render import Document, Section, Table, format_value, to_html, to_markdown
from medfusion_core.evaluation.subgroups import SubgroupRow
from medfusion_core.runs import write_text

if TYPE_CHECKING:
    from medfusion_core.config import ExperimentConfig

METRICS_FILE = "metrics.json"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"


@attrs.frozen
class ReportFiles:
    """What :func:`write_report` wrote, and the metrics it wrote to ``metrics.json``."""

    out_dir: Path
    metrics_json: Path
    markdown: Path
    html: Path
    plots: dict[str, Path]
    metrics: dict[str, Any]


def report_options(config: ExperimentConfig) -> dict[str, Any]:
    """The keyword arguments of :func:`write_report` taken from an experiment config."""
    return {
        "task": config.task.type,
        "threshold_rule": config.evaluation.threshold,
        "target_sensitivity": config.evaluation.target_sensitivity,
        "n_resamples": config.evaluation.bootstrap,
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
    n_resamples: int = 1000,
    seed: int = 0,
    subgroups: Sequence[str] = (),
    class_names: Sequence[str] | None = None,
    training_history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    title: str = "MedFusion evaluation",
    reference: str = "fused",
) -> ReportFiles:
    """Evaluate every model and write ``metrics.json``, ``report.md``, ``report.html`` and PNGs.

    ``models`` maps a label ("fused", "image-only", "clinical-only") to its predictions;
    ``training_history`` maps a label to its per-epoch records (the ``metrics.jsonl`` lines of a
    variant; see :func:`.plots.training_series`). ``reference`` is the model compared with the
    others. Returns the paths written and the metrics.
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
        )
        for label, predictions in ordered.items()
    }
    tests = {label: predictions.test.check(task, label) for label, predictions in ordered.items()}
    comparisons = compare_to_baselines(evaluations, tests, reference)
    plots = _write_plots(out, task, evaluations, tests, training_history or {}, class_names)
    settings = {
        "threshold_rule": threshold_rule,
        "target_sensitivity": target_sensitivity,
        "n_resamples": n_resamples,
        "seed": seed,
        "ci_level": LEVEL,
        "subgroups": list(subgroups),
    }
    metrics = {
        "title": title,
        "task": task,
        "reference": reference,
        "settings": settings,
        "models": {label: evaluation.to_dict() for label, evaluation in evaluations.items()},
        "comparisons": [comparison.to_dict() for comparison in comparisons],
        "plots": {name: path.name for name, path in plots.items()},
    }
    document = _document(title, task, settings, evaluations, comparisons, plots, class_names)
    return ReportFiles(
        out_dir=out,
        metrics_json=write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, allow_nan=False) + "\n"),
        markdown=write_text(out / MARKDOWN_FILE, to_markdown(document)),
        html=write_text(out / HTML_FILE, to_html(document)),
        plots=plots,
        metrics=metrics,
    )


def _write_plots(
    out: Path,
    task: str,
    evaluations: Mapping[str, Evaluation],
    tests: Mapping[str, SplitPredictions],
    history: Mapping[str, Sequence[Mapping[str, Any]]],
    class_names: Sequence[str] | None,
) -> dict[str, Path]:
    from medfusion_core.evaluation import plots

    written: dict[str, Path] = {}
    reference_label, reference = next(iter(evaluations.items()))
    if task == "binary":
        written["roc"] = plots.plot_roc(evaluations, out / "roc.png")
        written["pr"] = plots.plot_pr(evaluations, out / "pr.png")
        written["calibration"] = plots.plot_calibration(evaluations, out / "calibration.png")
        written["decision_curve"] = plots.plot_decision_curve(evaluations, out / "decision_curve.png")
    if task == "regression":
        values = {label: (test.y_true, test.scores) for label, test in tests.items()}
        written["predicted_vs_true"] = plots.plot_regression(values, out / "predicted_vs_true.png")
    else:
        written["confusion_matrix"] = plots.plot_confusion(
            reference.confusion_matrix,
            _class_labels(reference, class_names),
            f"Confusion matrix ({reference_label})",
            out / "confusion_matrix.png",
        )
    training = plots.plot_training_curves(history, out / "training_curves.png") if history else None
    if training is not None:
        written["training_curves"] = training
    return written


_CAPTIONS = {
    "roc": "ROC curves",
    "pr": "Precision-recall curves",
    "calibration": "Calibration (reliability diagram)",
    "decision_curve": "Decision curve (net benefit)",
    "confusion_matrix": "Confusion matrix",
    "predicted_vs_true": "Predicted vs true values",
    "training_curves": "Training curves",
}


def _comparison_table(evaluations: Mapping[str, Evaluation]) -> Table:
    columns = {label: evaluation.summary_rows() for label, evaluation in evaluations.items()}
    names = [name for name, _ in next(iter(columns.values()))]
    rows = [
        [name] + [format_value(rows[index][1]) for rows in columns.values()]
        for index, name in enumerate(names)
    ]
    return Table(["Metric", *evaluations], rows, "Test set; 95% bootstrap confidence intervals in brackets")


def _subgroup_tables(evaluations: Mapping[str, Evaluation], binary: bool) -> list[Table]:
    metric = next(iter(evaluations.values())).PRIMARY[0]
    tables = []
    for column, reference_rows in next(iter(evaluations.values())).subgroups.items():
        by_model: dict[str, dict[str, SubgroupRow]] = {
            label: {row.group: row for row in evaluation.subgroups[column]}
            for label, evaluation in evaluations.items()
        }
        header = [
            "Group",
            "n",
            *(["Prevalence"] if binary else []),
            *(f"{metric}: {label}" for label in evaluations),
        ]
        rows = [
            [
                row.group,
                str(row.n),
                *([format_value(row.prevalence)] if binary else []),
                *(format_value(by_model[label][row.group].metric) for label in evaluations),
            ]
            for row in reference_rows
        ]
        tables.append(Table(header, rows, f"Subgroup: {column}"))
    return tables


def _class_labels(evaluation: Evaluation, class_names: Sequence[str] | None) -> list[str]:
    """Axis labels of a confusion matrix: the task's class names, or negative/positive."""
    if isinstance(evaluation, MulticlassEvaluation):
        return evaluation.class_names
    return (
        [str(name) for name in class_names]
        if class_names and len(class_names) == 2
        else ["negative", "positive"]
    )


def _confusion_table(evaluation: Evaluation, class_names: Sequence[str] | None) -> Table:
    names = _class_labels(evaluation, class_names)
    rows = [
        [f"true {name}", *(str(int(count)) for count in counts)]
        for name, counts in zip(names, evaluation.confusion_matrix, strict=True)
    ]
    return Table(["", *(f"predicted {name}" for name in names)], rows)


def _document(
    title: str,
    task: str,
    settings: Mapping[str, Any],
    evaluations: Mapping[str, Evaluation],
    comparisons: Sequence[Comparison],
    plots: Mapping[str, Path],
    class_names: Sequence[str] | None,
) -> Document:
    reference_label, reference = next(iter(evaluations.items()))
    intro = (
        f"Task: {task}. Test patients: {reference.n}. Confidence intervals: 95% percentile bootstrap "
        f"({settings['n_resamples']} resamples of the test set, seed {settings['seed']})."
    )
    if task == "binary":
        intro += (
            " Sensitivity, specificity, PPV, NPV, accuracy and F1 use each model's threshold chosen on its "
            "validation predictions (Threshold row). ECE uses 10 equal-width bins."
        )
    sections = [
        Section(
            "Summary",
            paragraphs=[intro],
            bullets=[comparison.sentence for comparison in comparisons]
            or [f"No baseline to compare with {reference_label}."],
        ),
        Section("Models side by side", tables=[_comparison_table(evaluations)]),
        Section("Plots", images=[(path.name, _CAPTIONS[name]) for name, path in plots.items()]),
    ]
    if task != "regression":
        sections.append(
            Section(
                f"Confusion matrix ({reference_label})", tables=[_confusion_table(reference, class_names)]
            )
        )
    subgroup_tables = _subgroup_tables(evaluations, task == "binary")
    if subgroup_tables:
        sections.append(Section("Subgroups", tables=subgroup_tables))
    return Document(title, sections)
