"""Calibration: reliability-diagram bins, expected calibration error and Brier score.

Bins are ``n_bins`` equal-width intervals of predicted probability: bin ``k`` holds the
predictions with ``k / n_bins <= p < (k + 1) / n_bins`` (computed as ``floor(p * n_bins)``), the
last bin also holds ``p = 1``. ECE is the sample-weighted mean gap between the observed fraction of
positives and the mean predicted probability over non-empty bins:
``ECE = sum_k (n_k / N) * |frac_pos_k - mean_p_k|``.
"""

from __future__ import annotations

import attrs
import numpy as np

from medfusion_plugin_evaluation.result import Result

DEFAULT_BINS = 10


@attrs.frozen
class ReliabilityBins(Result):
    """Per-bin count, mean predicted probability and observed fraction of positives (nan if empty)."""

    edges: np.ndarray
    counts: np.ndarray
    mean_predicted: np.ndarray
    fraction_positive: np.ndarray


def reliability_bins(
    y_true: np.ndarray, probabilities: np.ndarray, n_bins: int = DEFAULT_BINS
) -> ReliabilityBins:
    """Equal-width reliability bins of binary labels against predicted probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    index = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_predicted = np.bincount(index, weights=p, minlength=n_bins) / counts
        fraction_positive = np.bincount(index, weights=y, minlength=n_bins) / counts
    return ReliabilityBins(np.linspace(0.0, 1.0, n_bins + 1), counts, mean_predicted, fraction_positive)


def expected_calibration_error(bins: ReliabilityBins) -> float:
    """ECE of reliability bins (see the module docstring)."""
    filled = bins.counts > 0
    gaps = np.abs(bins.fraction_positive[filled] - bins.mean_predicted[filled])
    return float(np.sum(bins.counts[filled] * gaps) / np.sum(bins.counts))
