"""The first-party report parts: summary, models side by side, plots, confusion matrices, subgroups.

Each is a ``report`` component (see :mod:`medfusion_core.kinds.report`) registered by this plugin's
hooks; they format an :class:`~medfusion_plugin_evaluation.context.EvaluationContext`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medfusion_core.kinds.report import ReportFigure, ReportSection, ReportTable
from medfusion_plugin_evaluation.context import EvaluationContext
from medfusion_plugin_evaluation.evaluate import Evaluation
from medfusion_plugin_evaluation.multiclass import MulticlassEvaluation
from medfusion_plugin_evaluation.render import format_value
from medfusion_plugin_evaluation.subgroups import SubgroupRow


class Summary:
    """How the numbers were made and the reference's verdict against each baseline."""

    title = "Summary"
    order = 10

    def render(self, context: EvaluationContext) -> ReportSection:
        """The summary paragraph and one bullet per comparison."""
        label, reference = first_model(context)
        settings = context.metrics["settings"]
        intro = (
            f"Task: {context.task}. Test patients: {reference.n}. Confidence intervals: 95% percentile "
            f"bootstrap ({settings['n_resamples']} resamples of the test set, seed {settings['seed']})."
        )
        if context.task == "binary":
            low, high = settings["decision_range"]
            intro += (
                " Sensitivity, specificity, PPV, NPV, accuracy and F1 use each model's threshold chosen on "
                "its validation predictions (Threshold row). Estimators: AUROC is the trapezoid area under "
                "the empirical ROC curve (equal to the Mann-Whitney statistic, ties counting one half); "
                "AUPRC is the average precision (precision summed over recall steps, not a trapezoid); "
                "Brier is the mean squared error of P(positive); ECE uses 10 equal-width bins. The decision "
                f"curve covers threshold probabilities {low:g} to {high:g} (evaluation.decision_range)."
            )
        return ReportSection(
            heading="Summary",
            paragraphs=[intro],
            bullets=[comparison.sentence for comparison in context.comparisons]
            or [f"No baseline to compare with {label}."],
        )


class ModelsSideBySide:
    """Every model's metrics in one table."""

    title = "Models side by side"
    order = 20

    def render(self, context: EvaluationContext) -> ReportSection:
        """One column per model, one row per metric."""
        columns = {label: evaluation.summary_rows() for label, evaluation in context.evaluations.items()}
        names = [name for name, _ in next(iter(columns.values()))]
        rows = [
            [name] + [format_value(rows[index][1]) for rows in columns.values()]
            for index, name in enumerate(names)
        ]
        table = ReportTable(
            ["Metric", *context.evaluations], rows, "Test set; 95% bootstrap confidence intervals in brackets"
        )
        return ReportSection(heading="Models side by side", tables=[table])


class Plots:
    """ROC, PR, calibration, decision curve (binary), confusion matrix or predicted vs true, and
    the training curves."""

    title = "Plots"
    order = 30

    def render(self, context: EvaluationContext) -> ReportSection:
        """Write the task's plots and show them side by side."""
        from medfusion_plugin_evaluation import plots

        evaluations = context.evaluations
        figures: list[ReportFigure] = []
        if context.task == "binary":
            figures.append(context.save_figure("roc", plots.plot_roc(evaluations), "ROC curves"))
            figures.append(context.save_figure("pr", plots.plot_pr(evaluations), "Precision-recall curves"))
            figures.append(
                context.save_figure(
                    "calibration", plots.plot_calibration(evaluations), "Calibration (reliability diagram)"
                )
            )
            figures.append(
                context.save_figure(
                    "decision_curve", plots.plot_decision_curve(evaluations), "Decision curve (net benefit)"
                )
            )
        if context.task == "regression":
            values = {label: (p.test.y_true, p.test.scores) for label, p in context.predictions.items()}
            figure = plots.plot_regression(values)
            figures.append(context.save_figure("predicted_vs_true", figure, "Predicted vs true values"))
        else:
            label, reference = first_model(context)
            figure = plots.plot_confusion(
                reference.confusion_matrix,
                class_labels(reference, context.class_names),
                f"Confusion matrix ({label})",
            )
            figures.append(context.save_figure("confusion_matrix", figure, "Confusion matrix"))
        training = plots.plot_training_curves(context.history) if context.history else None
        if training is not None:
            figures.append(context.save_figure("training_curves", training, "Training curves"))
        return ReportSection(heading="Plots", figures=figures)


class ConfusionMatrix:
    """Every model's confusion matrix (the baselines too) at its own threshold (classification)."""

    title = "Confusion matrices"
    order = 40

    def render(self, context: EvaluationContext) -> ReportSection | None:
        """Counts by true and predicted class, one table per model; ``None`` for regression."""
        if context.task == "regression":
            return None
        tables = []
        for label, evaluation in context.evaluations.items():
            names = class_labels(evaluation, context.class_names)
            rows = [
                [f"true {name}", *(str(int(count)) for count in counts)]
                for name, counts in zip(names, evaluation.confusion_matrix, strict=True)
            ]
            tables.append(ReportTable(["", *(f"predicted {name}" for name in names)], rows, label))
        return ReportSection(heading="Confusion matrices", tables=tables)


class Subgroups:
    """The headline metric of every model per subgroup (``data.subgroups``)."""

    title = "Subgroups"
    order = 50

    def render(self, context: EvaluationContext) -> ReportSection | None:
        """One table per subgroup column; ``None`` when the config names none."""
        tables = _subgroup_tables(context.evaluations, context.task == "binary")
        return ReportSection(heading="Subgroups", tables=tables) if tables else None


def first_model(context: EvaluationContext) -> tuple[str, Evaluation]:
    """The label and evaluation of the first model: the reference when it was evaluated."""
    return next(iter(context.evaluations.items()))


def _subgroup_tables(evaluations: Mapping[str, Evaluation], binary: bool) -> list[ReportTable]:
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
        tables.append(ReportTable(header, rows, f"Subgroup: {column}"))
    return tables


def class_labels(evaluation: Evaluation, class_names: Sequence[str] | None) -> list[str]:
    """Axis labels of a confusion matrix: the task's class names, or negative/positive."""
    if isinstance(evaluation, MulticlassEvaluation):
        return evaluation.class_names
    return (
        [str(name) for name in class_names]
        if class_names and len(class_names) == 2
        else ["negative", "positive"]
    )
