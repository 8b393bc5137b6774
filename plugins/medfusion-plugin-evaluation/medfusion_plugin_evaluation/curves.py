"""ROC and precision-recall curves of a binary classifier (one point per distinct score).

A patient is predicted positive when its score is at least the threshold.
"""

from __future__ import annotations

import numpy as np


def _cumulative_counts(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives at each distinct score, thresholds in decreasing order."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_true = y_true[order].astype(np.float64)
    ends = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    tps = np.cumsum(sorted_true)[ends]
    fps = (ends + 1) - tps
    return tps, fps, sorted_scores[ends]


def roc_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` starting at ``(0, 0)`` with threshold ``+inf``.

    Rates are ``nan`` when a class is absent.
    """
    tps, fps, thresholds = _cumulative_counts(y_true, scores)
    positives, negatives = tps[-1], fps[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.r_[0.0, tps / positives]
        fpr = np.r_[0.0, fps / negatives]
    return fpr, tpr, np.r_[np.inf, thresholds]


def pr_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision, recall, thresholds)`` with thresholds decreasing, ending at recall 1."""
    tps, fps, thresholds = _cumulative_counts(y_true, scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        return tps / (tps + fps), tps / tps[-1], thresholds
