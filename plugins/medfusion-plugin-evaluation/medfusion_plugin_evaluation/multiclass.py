"""Multi-class classification: accuracy, balanced accuracy, macro-F1, macro one-vs-rest AUROC
and the confusion matrix, with bootstrap CIs.

Conventions (matching scikit-learn's defaults): balanced accuracy averages the recall of the
classes present in ``y_true``; macro-F1 averages F1 over the classes present in ``y_true`` or the
predictions; macro AUROC averages the one-vs-rest AUROC of every class and is undefined (``nan``)
when a class is absent from ``y_true``. The predicted class is the arg-max probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from medfusion_core.kernels import auc_pair
from medfusion_plugin_evaluation.bootstrap import Estimate, bootstrap, bootstrap_auc, estimate
from medfusion_plugin_evaluation.confusion import confusion_matrices
from medfusion_plugin_evaluation.predictions import EvaluationError, ModelPredictions
from medfusion_plugin_evaluation.result import INTERNAL, Result
from medfusion_plugin_evaluation.subgroups import SubgroupRow, subgroup_metrics

#: Confusion-matrix metrics, in report order.
CONFUSION_METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "macro_f1")


def metrics_from_confusion(matrices: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy and macro-F1 of confusion matrices ``[..., K, K]``."""
    cm = np.asarray(matrices, dtype=np.float64)
    diagonal = np.diagonal(cm, axis1=-2, axis2=-1)
    true_counts = cm.sum(axis=-1)
    predicted_counts = cm.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(true_counts > 0, diagonal / true_counts, np.nan)
        seen = (true_counts + predicted_counts) > 0
        f1 = np.where(seen, 2 * diagonal / (true_counts + predicted_counts), np.nan)
        return {
            "accuracy": diagonal.sum(axis=-1) / cm.sum(axis=(-2, -1)),
            "balanced_accuracy": np.nanmean(recall, axis=-1),
            "macro_f1": np.nanmean(f1, axis=-1),
        }


def macro_auroc_estimate(
    y_true: np.ndarray, probabilities: np.ndarray, n_resamples: int, seed: int
) -> tuple[Estimate, np.ndarray]:
    """Macro one-vs-rest AUROC with its CI and resamples (``nan`` when a class is absent)."""
    num_classes = probabilities.shape[1]
    per_class = [auc_pair((y_true == k).astype(np.uint8), probabilities[:, k])[0] for k in range(num_classes)]
    resamples = np.stack(
        [
            bootstrap_auc(y_true == k, probabilities[:, k], n_resamples=n_resamples, seed=seed)[0]
            for k in range(num_classes)
        ],
        axis=-1,
    ).mean(axis=-1)
    return estimate(float(np.mean(per_class)), resamples), resamples


@attrs.frozen
class MulticlassEvaluation(Result):
    """Everything measured for one multi-class model on the test set."""

    PRIMARY: ClassVar[tuple[str, bool]] = ("Macro AUROC (one-vs-rest)", True)

    n: int
    class_names: list[str]
    class_counts: np.ndarray
    accuracy: Estimate
    balanced_accuracy: Estimate
    macro_f1: Estimate
    macro_auroc: Estimate
    confusion_matrix: np.ndarray
    subgroups: dict[str, list[SubgroupRow]]
    primary_resamples: np.ndarray = attrs.field(metadata=INTERNAL, repr=False)

    @property
    def primary(self) -> Estimate:
        """The headline metric (macro one-vs-rest AUROC) used to compare models."""
        return self.macro_auroc

    def summary_rows(self) -> list[tuple[str, Any]]:
        """``(label, value)`` rows of the report's comparison table."""
        return [
            ("Patients (test)", self.n),
            ("Accuracy", self.accuracy),
            ("Balanced accuracy", self.balanced_accuracy),
            ("Macro F1", self.macro_f1),
            ("Macro AUROC (one-vs-rest)", self.macro_auroc),
        ]


def _confusion_resamples(y: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    metrics = metrics_from_confusion(confusion_matrices(y, predicted, num_classes))
    return np.stack([metrics[name] for name in CONFUSION_METRICS], axis=-1)


def evaluate_multiclass(
    predictions: ModelPredictions,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    subgroups: Sequence[str] = (),
    label: str = "model",
) -> MulticlassEvaluation:
    """Evaluate a multi-class model on ``predictions.test`` (scores are ``[N, K]`` probabilities)."""
    test = predictions.test.check("multiclass", f"{label} test predictions")
    y, probabilities = test.y_true, test.scores
    num_classes = probabilities.shape[1]
    names = [str(name) for name in class_names] if class_names else [str(k) for k in range(num_classes)]
    if len(names) != num_classes:
        raise EvaluationError(
            f"task.classes: {len(names)} class names for {num_classes} probability columns of {label}"
        )
    predicted = probabilities.argmax(axis=1)
    point = _confusion_resamples(y, predicted, num_classes)
    resampled = bootstrap(
        lambda y_r, pred_r: _confusion_resamples(y_r, pred_r, num_classes),
        [y, predicted],
        n_resamples=n_resamples,
        seed=seed,
    )
    accuracy, balanced, macro_f1 = (estimate(point[k], resampled[:, k]) for k in range(3))
    macro_auroc, auroc_resamples = macro_auroc_estimate(y, probabilities, n_resamples, seed)
    return MulticlassEvaluation(
        n=int(y.size),
        class_names=names,
        class_counts=np.bincount(y, minlength=num_classes),
        accuracy=accuracy,
        balanced_accuracy=balanced,
        macro_f1=macro_f1,
        macro_auroc=macro_auroc,
        confusion_matrix=confusion_matrices(y, predicted, num_classes),
        subgroups=subgroup_metrics(
            test,
            subgroups,
            macro_auroc_estimate,
            binary=False,
            n_resamples=n_resamples,
            seed=seed,
            where=label,
        ),
        primary_resamples=auroc_resamples,
    )
