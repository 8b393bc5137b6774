"""PNG plots of an evaluation, drawn with matplotlib's Agg renderer.

matplotlib is imported inside the functions (never at module import) and only through
``matplotlib.figure.Figure``, so pyplot's global state and the user's backend are untouched.
Each function returns the figure; the report writes it with ``ReportContext.save_figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from medfusion_plugin_evaluation.binary import BinaryEvaluation


def _figure(ncols: int = 1, size: tuple[float, float] = (5.0, 4.2)) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * ncols, size[1]), layout="constrained")
    return figure, figure.subplots(1, ncols, squeeze=False)[0]


def plot_roc(evaluations: Mapping[str, BinaryEvaluation]) -> Any:
    """ROC curves of all models on one plot, AUROC in the legend, each model's operating point (its
    validation-chosen threshold) marked as a dot."""
    figure, (axes,) = _figure()
    for label, evaluation in evaluations.items():
        (line,) = axes.plot(
            evaluation.roc["fpr"], evaluation.roc["tpr"], label=f"{label} (AUROC {evaluation.auroc.format()})"
        )
        sensitivity = evaluation.at_threshold["sensitivity"].value
        specificity = evaluation.at_threshold["specificity"].value
        axes.plot(
            [1.0 - specificity],
            [sensitivity],
            marker="o",
            color=line.get_color(),
            linestyle="none",
            label=f"{label} operating point (threshold {evaluation.threshold.value:.3f})",
        )
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    axes.set(
        xlabel="1 − specificity (false-positive rate)",
        ylabel="Sensitivity",
        title="ROC curve",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    axes.legend(loc="lower right", fontsize="small")
    return figure


def plot_pr(evaluations: Mapping[str, BinaryEvaluation]) -> Any:
    """Precision-recall curves of all models, with the prevalence as the no-skill line."""
    figure, (axes,) = _figure()
    for label, evaluation in evaluations.items():
        recall = np.r_[0.0, evaluation.pr["recall"]]
        precision = np.r_[evaluation.pr["precision"][0], evaluation.pr["precision"]]
        axes.step(recall, precision, where="post", label=f"{label} (AUPRC {evaluation.auprc.format()})")
    prevalence = next(iter(evaluations.values())).prevalence
    axes.axhline(prevalence, linestyle=":", color="grey", label=f"prevalence {prevalence:.2f}")
    axes.set(
        xlabel="Recall (sensitivity)",
        ylabel="Precision (PPV)",
        title="Precision-recall curve",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    axes.legend(loc="lower left", fontsize="small")
    return figure


def plot_calibration(evaluations: Mapping[str, BinaryEvaluation]) -> Any:
    """Reliability diagram (observed vs predicted per bin) and a histogram of predictions."""
    figure, (diagram, histogram) = _figure(ncols=2)
    diagram.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for label, evaluation in evaluations.items():
        bins = evaluation.reliability
        filled = bins.counts > 0
        diagram.plot(
            bins.mean_predicted[filled],
            bins.fraction_positive[filled],
            marker="o",
            label=f"{label} (ECE {evaluation.ece:.3f})",
        )
        histogram.stairs(bins.counts, bins.edges, label=label)
    diagram.set(
        xlabel="Mean predicted probability",
        ylabel="Observed fraction positive",
        title="Reliability diagram",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    diagram.legend(loc="upper left", fontsize="small")
    histogram.set(xlabel="Predicted probability", ylabel="Patients", title="Predictions per bin", xlim=(0, 1))
    histogram.legend(fontsize="small")
    return figure


def plot_decision_curve(evaluations: Mapping[str, BinaryEvaluation]) -> Any:
    """Net benefit of each model against treat-all and treat-none."""
    figure, (axes,) = _figure(size=(6.0, 4.2))
    first = next(iter(evaluations.values())).decision_curve
    for label, evaluation in evaluations.items():
        axes.plot(evaluation.decision_curve.thresholds, evaluation.decision_curve.model, label=label)
    axes.plot(first.thresholds, first.treat_all, linestyle="--", color="grey", label="treat all")
    axes.plot(first.thresholds, first.treat_none, linestyle=":", color="black", label="treat none")
    top = max(float(np.nanmax(e.decision_curve.model)) for e in evaluations.values())
    top = max(top, float(first.treat_all[0]), 0.01)
    axes.set(
        xlabel="Threshold probability",
        ylabel="Net benefit",
        title="Decision curve",
        xlim=(0, 1),
        ylim=(-0.05 * top - 0.01, top * 1.1),
    )
    axes.legend(fontsize="small")
    return figure


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], title: str) -> Any:
    """A confusion matrix with counts in the cells (rows true class, columns predicted)."""
    size = max(3.5, 0.6 * len(class_names) + 2.5)
    figure, (axes,) = _figure(size=(size, size * 0.85))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    ticks = np.arange(len(class_names))
    axes.set(
        xticks=ticks,
        yticks=ticks,
        xticklabels=class_names,
        yticklabels=class_names,
        xlabel="Predicted",
        ylabel="True",
        title=title,
    )
    threshold = matrix.max() / 2.0
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(
            column, row, str(count), ha="center", va="center", color="white" if count > threshold else "black"
        )
    return figure


def plot_regression(values: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Any:
    """Predicted against true values for each model, with the identity line."""
    figure, (axes,) = _figure()
    low = min(float(min(y.min(), p.min())) for y, p in values.values())
    high = max(float(max(y.max(), p.max())) for y, p in values.values())
    for label, (y, p) in values.items():
        axes.scatter(y, p, s=10, alpha=0.6, label=label)
    axes.plot([low, high], [low, high], linestyle=":", color="grey", label="identity")
    axes.set(xlabel="True value", ylabel="Predicted value", title="Predicted vs true")
    axes.legend(fontsize="small")
    return figure


def training_series(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Epoch numbers and numeric series from per-epoch records.

    Records with an ``event`` key other than ``"epoch"`` are skipped; the epoch is
    ``epoch_index + 1``, else ``epoch``, else the record's position (1-based).
    """
    epochs = [record for record in records if record.get("event", "epoch") == "epoch"]
    x = np.array(
        [
            record["epoch_index"] + 1 if "epoch_index" in record else record.get("epoch", position + 1)
            for position, record in enumerate(epochs)
        ],
        dtype=np.float64,
    )
    skip = {"epoch", "epoch_index", "event", "best", "step"}
    names = sorted(
        {
            key
            for record in epochs
            for key, value in record.items()
            if key not in skip and isinstance(value, (int, float)) and not isinstance(value, bool)
        }
    )
    series = {
        name: np.array([record.get(name, np.nan) for record in epochs], dtype=np.float64) for name in names
    }
    return x, series


def plot_training_curves(history: Mapping[str, Sequence[Mapping[str, Any]]]) -> Any | None:
    """Losses (keys ending in ``loss``) and validation metrics (other ``val_*`` keys) per epoch:
    one colour per model, one line style per series. Returns ``None`` when there is nothing to plot."""
    from matplotlib.ticker import MaxNLocator

    figure, (loss_axes, metric_axes) = _figure(ncols=2)
    styles = ("-", "--", "-.", ":")
    for index, (label, records) in enumerate(history.items()):
        x, series = training_series(records)
        losses = [name for name in series if name.endswith("loss")]
        metrics = [name for name in series if name.startswith("val_") and name not in losses]
        for axes, names in ((loss_axes, losses), (metric_axes, metrics)):
            for position, name in enumerate(names):
                axes.plot(
                    x,
                    series[name],
                    color=f"C{index % 10}",
                    linestyle=styles[position % len(styles)],
                    marker=".",
                    label=f"{label}: {name}",
                )
    if not (loss_axes.lines or metric_axes.lines):
        return None
    loss_axes.set(xlabel="Epoch", ylabel="Loss", title="Loss")
    metric_axes.set(xlabel="Epoch", ylabel="Metric", title="Validation metric")
    for axes in (loss_axes, metric_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axes.lines:
            axes.legend(fontsize="small")
    return figure
