"""Binary classification: AUROC/AUPRC with bootstrap CIs, operating-point metrics at a threshold
chosen on validation data, confusion matrix, calibration and decision curve.

All CIs come from the same bootstrap resamples of the test set (see :mod:`.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from medfusion_core.kernels import auc_pair
from medfusion_plugin_evaluation.bootstrap import Estimate, bootstrap_auc, estimate, resample_counts
from medfusion_plugin_evaluation.calibration import (
    ReliabilityBins,
    expected_calibration_error,
    reliability_bins,
)
from medfusion_plugin_evaluation.confusion import confusion_matrices
from medfusion_plugin_evaluation.curves import pr_curve, roc_curve
from medfusion_plugin_evaluation.decision import (
    DEFAULT_RANGE,
    DecisionCurve,
    decision_curve,
    range_thresholds,
)
from medfusion_plugin_evaluation.predictions import ModelPredictions
from medfusion_plugin_evaluation.result import INTERNAL, Result
from medfusion_plugin_evaluation.subgroups import SubgroupRow, subgroup_metrics
from medfusion_plugin_evaluation.threshold import ThresholdChoice, choose_threshold

#: Operating-point metrics, in report order.
THRESHOLD_METRICS: tuple[str, ...] = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "f1")
_LABELS = {
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "accuracy": "Accuracy",
    "f1": "F1",
}


def confusion_counts(y_true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``(tn, fp, fn, tp)`` along a new last axis, counted over the last axis of the inputs."""
    matrices = confusion_matrices(y_true, predicted, 2)
    return matrices.reshape(*matrices.shape[:-2], 4)


def rates_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Sensitivity, specificity, PPV, NPV, accuracy and F1 from ``(tn, fp, fn, tp)`` counts.

    Vectorised over leading axes; a rate with a zero denominator is ``nan``.
    """
    tn, fp, fn, tp = np.moveaxis(np.asarray(counts, dtype=np.float64), -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "sensitivity": tp / (tp + fn),
            "specificity": tn / (tn + fp),
            "ppv": tp / (tp + fp),
            "npv": tn / (tn + fn),
            "accuracy": (tp + tn) / (tn + fp + fn + tp),
            "f1": 2 * tp / (2 * tp + fp + fn),
        }


def auroc_estimate(
    y_true: np.ndarray, scores: np.ndarray, n_resamples: int, seed: int
) -> tuple[Estimate, np.ndarray]:
    """AUROC with its CI and resamples (``nan`` when one class is absent)."""
    resamples, _ = bootstrap_auc(y_true, scores, n_resamples=n_resamples, seed=seed)
    return estimate(auc_pair(y_true.astype(np.uint8), scores)[0], resamples), resamples


@attrs.frozen
class BinaryEvaluation(Result):
    """Everything measured for one binary model on the test set (``roc``/``pr`` are curve points)."""

    PRIMARY: ClassVar[tuple[str, bool]] = ("AUROC", True)

    n: int
    n_positive: int
    prevalence: float
    auroc: Estimate
    auprc: Estimate
    threshold: ThresholdChoice
    at_threshold: dict[str, Estimate]
    confusion_matrix: np.ndarray
    brier: Estimate
    ece: float
    reliability: ReliabilityBins
    decision_curve: DecisionCurve
    roc: dict[str, np.ndarray]
    pr: dict[str, np.ndarray]
    subgroups: dict[str, list[SubgroupRow]]
    primary_resamples: np.ndarray = attrs.field(metadata=INTERNAL, repr=False)

    @property
    def primary(self) -> Estimate:
        """The headline metric (AUROC) used to compare models."""
        return self.auroc

    def summary_rows(self) -> list[tuple[str, Any]]:
        """``(label, value)`` rows of the report's comparison table."""
        rows: list[tuple[str, Any]] = [
            ("Patients (test)", self.n),
            ("Prevalence", self.prevalence),
            ("AUROC", self.auroc),
            ("AUPRC", self.auprc),
            ("Threshold", self.threshold.describe()),
        ]
        rows += [(_LABELS[name], self.at_threshold[name]) for name in THRESHOLD_METRICS]
        return [*rows, ("Brier score", self.brier), ("ECE (10 bins)", self.ece)]


def _patient_columns(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per patient ``[n, 5]``: the four confusion cells ``(tn, fp, fn, tp)`` as 0/1 and the squared error."""
    truth, positive = np.asarray(y) == 1, np.asarray(predicted) == 1
    cells = np.stack([~truth & ~positive, ~truth & positive, truth & ~positive, truth & positive], axis=1)
    return np.column_stack([cells.astype(np.float64), (np.asarray(p, dtype=np.float64) - truth) ** 2])


def _metrics_from_sums(sums: np.ndarray, n: int) -> np.ndarray:
    """:data:`THRESHOLD_METRICS` and the Brier score ``[r, 7]`` from column sums ``[r, 5]`` of ``n`` draws."""
    rates = rates_from_counts(sums[:, :4])
    return np.stack([*(rates[name] for name in THRESHOLD_METRICS), sums[:, 4] / n], axis=-1)


def operating_point(y: np.ndarray, predicted: np.ndarray, p: np.ndarray) -> np.ndarray:
    """:data:`THRESHOLD_METRICS` and the Brier score on the patients themselves: ``[7]``."""
    return _metrics_from_sums(_patient_columns(y, predicted, p).sum(axis=0, keepdims=True), len(y))[0]


def operating_point_bootstrap(
    y: np.ndarray, predicted: np.ndarray, p: np.ndarray, *, n_resamples: int, seed: int
) -> np.ndarray:
    """:func:`operating_point` on each bootstrap resample: ``[n_resamples, 7]``.

    Every metric is a function of sums over patients (the four confusion cells and the squared
    errors), so each chunk of resamples is one product of its draw counts with those five
    per-patient columns (:func:`.bootstrap.resample_counts`); no resample is gathered.
    """
    columns = _patient_columns(y, predicted, p)
    chunks = [counts @ columns for counts in resample_counts(len(columns), n_resamples, seed)]
    sums = np.concatenate(chunks) if chunks else np.zeros((0, columns.shape[1]))
    return _metrics_from_sums(sums, len(columns))


def evaluate_binary(
    predictions: ModelPredictions,
    *,
    threshold_rule: str = "youden",
    target_sensitivity: float = 0.9,
    n_resamples: int = 2000,
    seed: int = 0,
    subgroups: Sequence[str] = (),
    label: str = "model",
    decision_range: tuple[float, float] | list[float] = DEFAULT_RANGE,
) -> BinaryEvaluation:
    """Evaluate a binary model: threshold chosen on ``predictions.validation``, metrics on ``.test``.

    Scores are probabilities of the positive class. ``label`` names the model in errors.
    """
    test = predictions.test.check("binary", f"{label} test predictions")
    validation = predictions.validation
    if validation is not None:
        validation = validation.check("binary", f"{label} validation predictions")
    threshold = choose_threshold(
        None if validation is None else validation.y_true,
        None if validation is None else validation.scores,
        threshold_rule,
        target_sensitivity,
    )
    y, p = test.y_true, test.scores
    predicted = (p >= threshold.value).astype(np.int64)
    auroc_value, auprc_value = auc_pair(y.astype(np.uint8), p)
    auroc_resamples, auprc_resamples = bootstrap_auc(y, p, n_resamples=n_resamples, seed=seed)
    point = operating_point(y, predicted, p)
    resampled = operating_point_bootstrap(y, predicted, p, n_resamples=n_resamples, seed=seed)
    at_threshold = {name: estimate(point[k], resampled[:, k]) for k, name in enumerate(THRESHOLD_METRICS)}
    bins = reliability_bins(y, p)
    fpr, tpr, roc_thresholds = roc_curve(y, p)
    precision, recall, pr_thresholds = pr_curve(y, p)
    tn, fp, fn, tp = confusion_counts(y, predicted)
    return BinaryEvaluation(
        n=int(y.size),
        n_positive=int(y.sum()),
        prevalence=float(y.mean()),
        auroc=estimate(auroc_value, auroc_resamples),
        auprc=estimate(auprc_value, auprc_resamples),
        threshold=threshold,
        at_threshold=at_threshold,
        confusion_matrix=np.array([[tn, fp], [fn, tp]]),
        brier=estimate(point[-1], resampled[:, -1]),
        ece=expected_calibration_error(bins),
        reliability=bins,
        decision_curve=decision_curve(y, p, range_thresholds(decision_range)),
        roc={"fpr": fpr, "tpr": tpr, "thresholds": roc_thresholds},
        pr={"precision": precision, "recall": recall, "thresholds": pr_thresholds},
        subgroups=subgroup_metrics(
            test, subgroups, auroc_estimate, binary=True, n_resamples=n_resamples, seed=seed, where=label
        ),
        primary_resamples=auroc_resamples,
    )
